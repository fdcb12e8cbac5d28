// fuzz_targets.h — the fuzz entry functions, one per tests/fuzz/fuzz_<name>.cpp (docs/fuzzing.md). The
// same functions back the libFuzzer executables (V4LAB_FUZZ=ON, clang: fuzz_<name>) and the corpus
// replay driver that ctest runs in every build (fuzz_corpus_replay). Contract of every entry: return 0
// for any input; a clean v4lab::Error (exit code 1/2) is a fine outcome; a foreign exception, an abort,
// UB or a leak is a finding (the entry calls fuzz_fail, the sanitizers report the rest).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace v4lab::fuzz {

int fuzz_scenario(const uint8_t* data, size_t size);   // bytes = a scenario file's TOML text
int fuzz_npy(const uint8_t* data, size_t size);        // bytes = a .npy file
int fuzz_kv_decode(const uint8_t* data, size_t size);  // selector + layout header + page bytes
int fuzz_cli(const uint8_t* data, size_t size);        // argv, one argument per line

struct Target {
  const char* name;  // corpus folder name: tests/fuzz/corpus/<name>, tests/fuzz/regressions/<name>
  int (*fn)(const uint8_t*, size_t);
};
inline constexpr Target kTargets[] = {
    {"scenario", fuzz_scenario}, {"npy", fuzz_npy}, {"kv_decode", fuzz_kv_decode}, {"cli", fuzz_cli}};

// A finding that is not a sanitizer report (e.g. an exception that is not a v4lab::Error): print and abort,
// so libFuzzer saves the input and the replay driver fails.
[[noreturn]] void fuzz_fail(const char* target, const std::string& what);

}  // namespace v4lab::fuzz

// libFuzzer entry for one target; only compiled into the fuzz_<name> executables.
#ifdef V4LAB_LIBFUZZER
#define V4LAB_FUZZ_ENTRY(fn) \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { return v4lab::fuzz::fn(data, size); }
#else
#define V4LAB_FUZZ_ENTRY(fn)
#endif
