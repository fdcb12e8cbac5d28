// test_report_screenshot.cpp — the HTML report renders in headless Chromium and its charts are there
// and not empty: the report is screenshotted twice, as written and with its SVGs hidden (same layout),
// and the rows where the two differ are the charts. Each chart must be one band of differing rows
// with enough ink. Checked for a measured run and for a capacity plan (Pareto scatter, memory bar).
// Skipped with a printed reason when chromium (or libpng at build time) is absent.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "cli/cli_test_util.h"
#include "report/report.h"
#include "store/store.h"
#include "store/store_fixture.h"
#include "store/trace_store.h"

#if defined(V4LAB_HAVE_PNG)
#include <png.h>
#endif

using namespace v4lab;

namespace {

std::string chromium_binary() {
  for (const char* c : {"chromium", "chromium-browser", "google-chrome"}) {
    const std::string cmd = std::string("command -v ") + c + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return c;
  }
  return {};
}

struct Image {
  int w = 0, h = 0;
  std::vector<uint8_t> rgba;
  const uint8_t* px(int x, int y) const { return &rgba[(static_cast<size_t>(y) * w + x) * 4]; }
};

#if defined(V4LAB_HAVE_PNG)
bool read_png(const std::string& path, Image& img) {
  png_image p;
  std::memset(&p, 0, sizeof p);
  p.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&p, path.c_str())) return false;
  p.format = PNG_FORMAT_RGBA;
  img.w = static_cast<int>(p.width);
  img.h = static_cast<int>(p.height);
  img.rgba.resize(PNG_IMAGE_SIZE(p));
  const bool ok = png_image_finish_read(&p, nullptr, img.rgba.data(), 0, nullptr) != 0;
  png_image_free(&p);
  return ok;
}
#endif

bool shoot(const std::string& chromium, const std::string& html, const std::string& png, int height) {
  const std::string cmd = "timeout 60 " + chromium +
                          " --headless --no-sandbox --disable-gpu --hide-scrollbars --screenshot=" + png +
                          " --window-size=1200," + std::to_string(height) + " file://" + html + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0 && std::filesystem::exists(png);
}

size_t count_of(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

#if defined(V4LAB_HAVE_PNG)
// Screenshots `html_path` as written and with its SVGs hidden; the differing rows must form one band per
// chart, each tall and inked.
void check_charts_render(const std::string& chromium, const std::string& html_path, const std::string& stem,
                         size_t expected_charts, int height) {
  std::string html;
  {
    std::ifstream f(html_path);
    std::ostringstream os;
    os << f.rdbuf();
    html = os.str();
  }
  const size_t n_charts = count_of(html, "<svg");
  REQUIRE(n_charts == expected_charts);
  // The same page with the charts hidden: visibility keeps the layout, so only chart pixels change.
  std::string hidden = html;
  hidden.replace(hidden.find("</head>"), 7, "<style>svg{visibility:hidden}</style></head>");
  std::ofstream(stem + "-hidden.html") << hidden;

  REQUIRE(shoot(chromium, html_path, stem + "-shown.png", height));
  REQUIRE(shoot(chromium, stem + "-hidden.html", stem + "-hidden.png", height));
  Image a, b;
  REQUIRE(read_png(stem + "-shown.png", a));
  REQUIRE(read_png(stem + "-hidden.png", b));
  REQUIRE(a.w == b.w);
  REQUIRE(a.h == b.h);

  // Rows that differ, grouped into bands (a gap of < 24 identical rows stays inside one chart).
  struct Band {
    int y0, y1;
    size_t pixels;
  };
  std::vector<Band> bands;
  int last = -1000;
  size_t page_ink = 0;
  for (int y = 0; y < a.h; ++y) {
    size_t diff = 0;
    for (int x = 0; x < a.w; ++x) {
      const uint8_t *p = a.px(x, y), *q = b.px(x, y);
      diff += std::abs(p[0] - q[0]) + std::abs(p[1] - q[1]) + std::abs(p[2] - q[2]) > 30;
      page_ink += p[0] < 200 || p[1] < 200 || p[2] < 200;
    }
    if (diff == 0) continue;
    if (y - last >= 24) bands.push_back({y, y, 0});
    bands.back().y1 = y;
    bands.back().pixels += diff;
    last = y;
  }
  INFO(html_path << ": screenshot " << a.w << "x" << a.h << ", bands: " << bands.size());
  CHECK(page_ink > 10000);  // the page itself rendered (text, tables)
  REQUIRE(bands.size() == n_charts);
  for (const Band& bd : bands) {
    INFO("chart band y " << bd.y0 << ".." << bd.y1 << ": " << bd.pixels << " chart pixels");
    CHECK(bd.y1 - bd.y0 > 100);  // a chart, not a stray glyph
    CHECK(bd.pixels > 3000);     // with axes, marks and labels drawn
  }
}
#endif

}  // namespace

TEST_CASE("HTML report renders in headless Chromium with every chart present and non-empty", "[report][chromium]") {
  const std::string chromium = chromium_binary();
  if (chromium.empty()) {
    WARN("skipped: chromium is not installed (apt-get install chromium; scripts/install-deps.sh)");
    return;
  }
#if !defined(V4LAB_HAVE_PNG)
  WARN("skipped: built without libpng (libpng-dev), cannot decode the screenshot");
  return;
#else
  const std::string d = fresh_dir("report_screenshot");
  store::Store s(d + "/v4lab.db");
  // A measured run with roofs, CPU profile and peak RSS: bar chart, roofline, memory chart.
  store::RunRecord rec = v4lab::test::synthetic_run();
  for (auto& m : rec.measurements)
    m.counters_json = R"({"wall_median_s":0.001,"thread_cpu_s":0.0009,"process_cpu_s":0.0018,"cpu_utilization":1.8,)"
                      R"("perf":{"status":"unavailable: test"}})";
  const int64_t id = s.write_run(rec);
  store::set_run_metrics(s, id,
                         {{"peak_rss_bytes", 7.5e7, "VmHWM", "bytes", "measured"},
                          {"roof.local.mem_bw_bytes_per_s", 1e10, "", "bytes_per_s", "measured"},
                          {"roof.local.peak_flops_per_s.fp32", 1.5e11, "", "flop_per_s", "measured"},
                          {"roof.local.device_class", store::kUnknown, "cpu", "", "preset"},
                          {"roof.H100.mem_bw_bytes_per_s", 3.35e12, "", "bytes_per_s", "datasheet"},
                          {"roof.H100.peak_flops_per_s.bf16", 9.89e14, "", "flop_per_s", "datasheet"},
                          {"roof.H100.device_class", store::kUnknown, "gpu", "", "preset"}});
  const std::string html_path = d + "/report.html";
  report::write_run_report(s, id, "html", html_path);
  check_charts_render(chromium, html_path, d + "/run", 3, 4000);
  // A capacity plan stored by the real CLI: the Pareto scatter and the winner's memory bar.
  auto plan = ::cli({"--db", d + "/v4lab.db", "--quiet", "plan", "--model", "deepseek_v4_flash", "--hw", "h800_sxm",
                   "--context", "4096", "--target-tokens-per-s", "20000", "--tpot-ms", "50", "--tp", "1,2", "--batch",
                   "4,16,64", "--overlap", "off", "--ep-replicas", "1", "--max-instance-gpus", "16"});
  INFO(plan.err);
  REQUIRE(plan.code == 0);
  const int64_t plan_id = *s.latest_run_id();
  report::write_run_report(s, plan_id, "html", d + "/plan.html");
  check_charts_render(chromium, d + "/plan.html", d + "/plan", 2, 7000);
#endif
}
