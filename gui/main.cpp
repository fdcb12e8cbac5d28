// main.cpp — v4lab-gui: flags, GLFW window + OpenGL 3 context, Dear ImGui frame loop over the tiled
// panels, and the scripted/headless mode the tests and docs use: --frames N renders N frames, applies
// --set knobs and --execute kernels at frame N/2 (through the same App::apply path the widgets use),
// waits for the workers, then writes --screenshot and --dump-state. State is saved on exit.
#include <GLFW/glfw3.h>
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_opengl3.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/error.h"
#include "core/op_catalogue.h"
#include "gui/panels.h"
#include "gui/screenshot.h"

using namespace v4lab;
using namespace v4lab::gui;

namespace {

// "op=NAME,key=value,..." or "NAME" -> ExecCase; usage_error naming the bad piece.
ExecCase parse_execute(const std::string& spec) {
  ExecCase k;
  k.selected = true;
  std::stringstream ss(spec);
  for (std::string part; std::getline(ss, part, ',');) {
    const auto eq = part.find('=');
    if (eq == std::string::npos) {
      if (k.op.empty())
        k.op = part;
      else
        throw usage_error("--execute " + spec + ": '" + part + "' is not key=value");
      continue;
    }
    const std::string key = part.substr(0, eq), val = part.substr(eq + 1);
    if (key == "op") {
      k.op = val;
      continue;
    }
    char* end = nullptr;
    const double v = std::strtod(val.c_str(), &end);
    if (val.empty() || *end) throw usage_error("--execute " + spec + ": '" + part + "' needs a number");
    k.params[key] = v;
  }
  if (k.op.empty()) throw usage_error("--execute " + spec + ": expected op=NAME[,key=value...]");
  get_op(k.op);  // config_error listing the known ops
  return k;
}

void style() {
  ImGui::StyleColorsDark();
  ImGuiStyle& s = ImGui::GetStyle();
  s.WindowRounding = 3;
  s.FrameRounding = 2;
  s.WindowBorderSize = 1;
  s.ItemSpacing = {6, 4};
  s.Colors[ImGuiCol_WindowBg] = {0.105f, 0.115f, 0.135f, 1.0f};
  s.Colors[ImGuiCol_TitleBg] = s.Colors[ImGuiCol_TitleBgActive] = {0.16f, 0.22f, 0.32f, 1.0f};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{
      "v4lab-gui — Dear ImGui explorer of v4lab: configure, predict, studies, timeline, runs, execute.\n"
      "Every modelled number is a prediction; kernel executions are measured on this machine.",
      "v4lab-gui"};
  Options opt;
  std::string screenshot, dump;
  int frames = 0, width = 1600, height = 1000;
  double timeout_s = 120;
  std::vector<std::string> sets, execs;
  cli.add_option("--db", opt.db_path, "SQLite results database (Runs panel, kernel executions)")->capture_default_str();
  cli.add_option("--data-dir", opt.data_dir,
                 "Directory of hardware/ and models/ presets (default: $V4LAB_DATA_DIR or the source tree's data/)");
  cli.add_option("--scenario", opt.scenario,
                 "Start from a scenario TOML: its model, first non-local hardware, backends and kernels");
  cli.add_option("--screenshot", screenshot, "With --frames: write the last frame to this PNG (or .ppm) file");
  cli.add_option("--frames", frames, "Headless/scripted mode: render N frames (then wait for the workers), then exit")
      ->check(CLI::Range(2, 100000));
  cli.add_option("--set", sets,
                 "Knob change key=value applied at frame N/2 as if moved in the GUI (repeatable), e.g. batch=64");
  cli.add_option("--execute", execs, "Start a kernel execution at frame N/2: op=NAME[,key=value...] (repeatable)");
  cli.add_option("--dump-state", dump,
                 "At exit, write the displayed prediction, panel rectangles and executions as JSON");
  cli.add_option("--state", opt.state_path,
                 "State file (default: $XDG_CONFIG_HOME/v4lab/gui.ini or ~/.config/v4lab/gui.ini)");
  cli.add_flag("--no-state", opt.no_state, "Neither read nor write the state file");
  cli.add_option("--width", width, "Window width in pixels")->capture_default_str()->check(CLI::Range(640, 8192));
  cli.add_option("--height", height, "Window height in pixels")->capture_default_str()->check(CLI::Range(480, 8192));
  cli.add_option("--timeout", timeout_s, "Scripted mode: seconds to wait for the workers after the last frame")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 3600.0));
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : 2;
  }
  if ((!screenshot.empty() || !sets.empty() || !execs.empty()) && frames == 0) {
    std::cerr << "v4lab-gui: error: --screenshot, --set and --execute need --frames N\n";
    return 2;
  }
  opt.scripted = frames > 0;

  std::unique_ptr<App> app;
  std::vector<ExecCase> exec_cases;
  try {
    Config probe;
    for (auto& s : sets) {  // validate every --set before opening a window
      const auto eq = s.find('=');
      const std::string e = eq == std::string::npos  ? "--set " + s + ": expected key=value"
                            : s.rfind("ui.", 0) == 0 ? ""  // checked when applied (needs the App)
                                                     : set_config_value(probe, s.substr(0, eq), s.substr(eq + 1));
      if (!e.empty()) throw usage_error("--set: " + e);
    }
    for (auto& e : execs) exec_cases.push_back(parse_execute(e));
    app = std::make_unique<App>(opt);
  } catch (const Error& e) {
    std::cerr << "v4lab-gui: error: " << e.what() << "\n";
    return e.exit_code();
  }

  glfwSetErrorCallback(
      [](int code, const char* msg) { std::fprintf(stderr, "v4lab-gui: GLFW error %d: %s\n", code, msg); });
  if (!glfwInit()) {
    std::cerr << "v4lab-gui: error: cannot initialise GLFW (no display? headless: xvfb-run -a v4lab-gui ...)\n";
    return 1;
  }
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
  glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
  glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GL_TRUE);
  GLFWwindow* win = glfwCreateWindow(width, height, "v4lab-gui", nullptr, nullptr);
  if (!win) {
    std::cerr << "v4lab-gui: error: cannot create a " << width << "x" << height << " OpenGL 3.3 core window\n";
    glfwTerminate();
    return 1;
  }
  glfwMakeContextCurrent(win);
  glfwSwapInterval(opt.scripted ? 0 : 1);
  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // the layout is ours (gui.ini), not imgui.ini in the working directory
  io.ConfigFlags |= ImGuiConfigFlags_NavEnableKeyboard;
  style();
  ImGui_ImplGlfw_InitForOpenGL(win, true);
  ImGui_ImplOpenGL3_Init("#version 150");

  int rc = 0, frame = 0, idle_frames = 0;
  bool applied = false;
  std::chrono::steady_clock::time_point wait_start{};
  while (!glfwWindowShouldClose(win) && !app->quit) {
    // While kernels are measured the UI drops to ~10 frames/s: on a small machine the renderer (llvmpipe
    // threads included) would otherwise steal the cores the kernel's OpenMP threads are timed on.
    if (app->exec_running())
      glfwWaitEventsTimeout(0.1);
    else if (opt.scripted)
      glfwPollEvents();
    else
      glfwWaitEventsTimeout(app->workers_idle() ? 0.1 : 0.02);
    if (opt.scripted && !applied && frame >= frames / 2) {
      for (auto& s : sets) {
        const auto eq = s.find('=');
        const std::string e = app->set_knob(s.substr(0, eq), s.substr(eq + 1));
        if (!e.empty()) std::cerr << "v4lab-gui: --set: " << e << "\n";
      }
      if (!exec_cases.empty()) app->start_execution(exec_cases);
      applied = true;
    }
    app->poll();
    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    ImGui::NewFrame();
    layout_frame(*app, io.DisplaySize.x, io.DisplaySize.y);
    panel_configure(*app);
    panel_predict(*app);
    panel_studies(*app);
    panel_timeline(*app);
    panel_runs(*app);
    panel_execute(*app);
    if (io.KeyCtrl && ImGui::IsKeyPressed(GLFW_KEY_Q)) app->quit = true;
    if (io.KeyCtrl && ImGui::IsKeyPressed(GLFW_KEY_S)) app->save_state();
    if (ImGui::IsKeyPressed(GLFW_KEY_F5)) app->refresh_runs();
    ImGui::Render();
    int fbw = 0, fbh = 0;
    glfwGetFramebufferSize(win, &fbw, &fbh);
    glViewport(0, 0, fbw, fbh);
    glClearColor(0.055f, 0.063f, 0.078f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    if (opt.scripted) {
      ++frame;
      idle_frames = app->workers_idle() ? idle_frames + 1 : 0;
      if (frame == frames) wait_start = std::chrono::steady_clock::now();
      const bool timed_out =
          frame >= frames &&
          std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count() > timeout_s;
      // Three idle frames: the last snapshot has been picked up and drawn (not only computed).
      if (frame >= frames && (idle_frames >= 3 || timed_out)) {
        if (timed_out) {
          std::cerr << "v4lab-gui: error: workers still busy " << timeout_s << " s after frame " << frames << "\n";
          rc = 1;
        }
        if (!screenshot.empty()) {
          const std::string e = write_screenshot(screenshot, fbw, fbh);
          if (!e.empty()) std::cerr << "v4lab-gui: error: " << e << "\n", rc = 1;
        }
        break;
      }
    }
    glfwSwapBuffers(win);
  }
  if (!dump.empty()) {
    nlohmann::json j = app->dump_state();
    int fbw = 0, fbh = 0;
    glfwGetFramebufferSize(win, &fbw, &fbh);
    j["display"] = {io.DisplaySize.x, io.DisplaySize.y};
    j["framebuffer"] = {fbw, fbh};
    j["frames"] = frame;
    const ImVec4 bg = ImGui::GetStyle().Colors[ImGuiCol_WindowBg];
    j["window_bg"] = {int(bg.x * 255 + 0.5f), int(bg.y * 255 + 0.5f), int(bg.z * 255 + 0.5f)};
    std::ofstream f(dump);
    f << j.dump(2) << "\n";
    if (!f) std::cerr << "v4lab-gui: error: cannot write " << dump << "\n", rc = 1;
  }
  app->save_state();
  app->cancel_execution();
  ImGui_ImplOpenGL3_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  ImGui::DestroyContext();
  glfwDestroyWindow(win);
  glfwTerminate();
  app.reset();  // joins the workers (a running kernel finishes first)
  return rc;
}
