# Sanitizer and libFuzzer instrumentation for every v4lab target (through the v4lab_flags interface
# library, cmake/V4labFlags.cmake). docs/sanitizers.md, docs/fuzzing.md.
#   V4LAB_SANITIZE=address,undefined  -fsanitize=... on compile and link, frame pointers kept, and UB is
#                                     fatal (-fno-sanitize-recover=undefined) so ctest sees it as a failure.
#   V4LAB_FUZZ=ON (clang only)        -fsanitize=fuzzer-no-link on every library (coverage for libFuzzer);
#                                     tests/fuzz links its fuzz_<name> executables with -fsanitize=fuzzer.
option(V4LAB_FUZZ "Build the libFuzzer targets in tests/fuzz (clang only; see docs/fuzzing.md)" OFF)
if(V4LAB_SANITIZE)
  set(_v4lab_san -fsanitize=${V4LAB_SANITIZE} -fno-omit-frame-pointer)
  if(V4LAB_SANITIZE MATCHES "undefined")
    list(APPEND _v4lab_san -fno-sanitize-recover=undefined)
  endif()
  target_compile_options(v4lab_flags INTERFACE $<$<COMPILE_LANGUAGE:CXX>:${_v4lab_san}>)
  target_link_options(v4lab_flags INTERFACE -fsanitize=${V4LAB_SANITIZE})
endif()
if(V4LAB_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "V4LAB_FUZZ=ON needs clang (libFuzzer): configure with -DCMAKE_CXX_COMPILER=clang++ "
                        "(or use `make fuzz`); the compiler is ${CMAKE_CXX_COMPILER_ID}")
  endif()
  target_compile_options(v4lab_flags INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=fuzzer-no-link>)
endif()
