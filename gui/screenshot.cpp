// screenshot.cpp — glReadPixels of the back buffer, flipped to top-down rows, written as PNG with
// stb_image_write (libstb-dev's compiled library) or as binary PPM.
#include "gui/screenshot.h"

#include <GLFW/glfw3.h>
#include <stb_image_write.h>

#include <cstdio>
#include <vector>

namespace v4lab::gui {

std::string write_screenshot(const std::string& path, int w, int h) {
  if (w <= 0 || h <= 0) return "screenshot " + path + ": empty framebuffer";
  std::vector<unsigned char> px(size_t(w) * size_t(h) * 3), flipped(px.size());
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadBuffer(GL_BACK);
  glReadPixels(0, 0, w, h, GL_RGB, GL_UNSIGNED_BYTE, px.data());
  if (glGetError() != GL_NO_ERROR) return "screenshot " + path + ": glReadPixels failed";
  const size_t row = size_t(w) * 3;
  for (int y = 0; y < h; ++y)  // OpenGL rows are bottom-up
    std::copy(px.begin() + long(size_t(h - 1 - y) * row), px.begin() + long(size_t(h - y) * row),
              flipped.begin() + long(size_t(y) * row));
  const bool ppm = path.size() > 4 && path.compare(path.size() - 4, 4, ".ppm") == 0;
  if (ppm) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return "cannot write " + path;
    std::fprintf(f, "P6\n%d %d\n255\n", w, h);
    const bool ok = std::fwrite(flipped.data(), 1, flipped.size(), f) == flipped.size();
    return std::fclose(f) == 0 && ok ? "" : "cannot write " + path;
  }
  if (!stbi_write_png(path.c_str(), w, h, 3, flipped.data(), int(row))) return "cannot write " + path;
  return "";
}

}  // namespace v4lab::gui
