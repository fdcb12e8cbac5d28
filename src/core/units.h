// units.h — SI units (STYLE 9: GB = 1e9, TFLOPS = 1e12; GiB = 2^30 when meant).
#pragma once

namespace v4lab::units {
inline constexpr double kKilo = 1e3;
inline constexpr double kMega = 1e6;
inline constexpr double kGiga = 1e9;
inline constexpr double kTera = 1e12;
inline constexpr double kGiB = 1073741824.0;
inline constexpr double kMiB = 1048576.0;
inline constexpr double kMicro = 1e-6;
}  // namespace v4lab::units
