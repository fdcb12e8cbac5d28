// text_corpus.h — a real-text token source for the Engram cache simulator (specs/engram.md §10 traces):
// reads a plain-text file or every plain file of a directory (default: the Debian `fortunes` package)
// and tokenizes it deterministically: ASCII lowercase, split on every non-alphanumeric byte (UTF-8
// bytes ≥ 0x80 are separators too), word ids by first appearance (0, 1, 2, …).
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace v4lab {

inline constexpr const char* kDefaultCorpusPath = "/usr/share/games/fortunes";

struct TextCorpus {
  std::string name;                // "fortunes" (the directory or file stem)
  std::string path;
  std::vector<std::string> files;  // read in name order
  int64_t bytes = 0;               // text bytes read
  std::vector<int32_t> token_ids;  // one id per word, in reading order
  std::vector<std::string> vocab;  // vocab[id] = word
};

// Appends the words of `text` to `ids`, extending `index`/`vocab` with unseen words.
void tokenize_words(const std::string& text, std::unordered_map<std::string, int32_t>& index,
                    std::vector<std::string>& vocab, std::vector<int32_t>& ids);

// Loads a file, or a directory's regular files (not symlinks, not *.dat index files, not hidden), in
// name order. config_error naming the path when it is missing, unreadable or holds no words.
TextCorpus load_text_corpus(const std::string& path);

}  // namespace v4lab
