// replay_main.cpp — fuzz_replay: runs every file of tests/fuzz/corpus/<target>/ and
// tests/fuzz/regressions/<target>/ once through the target's fuzz entry (fuzz_targets.h), without
// libFuzzer, so the normal gcc build (ctest fuzz_corpus_replay) and the sanitizer build keep every seed
// and every fixed finding passing. Usage: fuzz_replay DIR... (each DIR holds one folder per target).
// Exit 0 when every input ran; 1 on an unknown target folder or when no input was found (a target's
// abort or a sanitizer report ends the process with its own non-zero status).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_targets.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: fuzz_replay DIR...  (DIR/<target>/<input files>)\n");
    return 2;
  }
  std::vector<fs::path> roots;  // absolute, resolved first: the cli target changes the working directory
  for (int a = 1; a < argc; ++a) roots.push_back(fs::absolute(argv[a]));
  size_t total = 0;
  for (const fs::path& root : roots) {
    if (!fs::is_directory(root)) {
      std::fprintf(stderr, "fuzz_replay: %s is not a directory\n", root.c_str());
      return 1;
    }
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(root))
      if (e.is_directory()) dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    for (const auto& d : dirs) {
      const std::string name = d.filename().string();
      auto it = std::find_if(std::begin(v4lab::fuzz::kTargets), std::end(v4lab::fuzz::kTargets),
                             [&](const v4lab::fuzz::Target& t) { return name == t.name; });
      if (it == std::end(v4lab::fuzz::kTargets)) {
        std::fprintf(stderr, "fuzz_replay: %s: unknown fuzz target '%s'\n", d.c_str(), name.c_str());
        return 1;
      }
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(d))
        if (e.is_regular_file()) files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::fprintf(stderr, "fuzz_replay: %s <- %s (%zu B)\n", it->name, f.c_str(), bytes.size());
        it->fn(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
      }
      std::printf("fuzz_replay: %-10s %4zu inputs from %s\n", it->name, files.size(), d.c_str());
      total += files.size();
    }
  }
  if (total == 0) {
    std::fprintf(stderr, "fuzz_replay: no inputs found\n");
    return 1;
  }
  std::printf("fuzz_replay: %zu inputs replayed, no finding\n", total);
  return 0;
}
