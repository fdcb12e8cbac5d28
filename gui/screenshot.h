// screenshot.h — capture the current OpenGL back buffer to a PNG (stb_image_write) or binary PPM file.
#pragma once
#include <string>

namespace v4lab::gui {

// Reads w x h pixels of the back buffer (call after rendering, before swapping). The format follows the
// extension (.ppm: binary P6; anything else: PNG). Returns "" or an error message naming the path.
std::string write_screenshot(const std::string& path, int w, int h);

}  // namespace v4lab::gui
