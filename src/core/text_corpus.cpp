// text_corpus.cpp — corpus reader and the deterministic word tokenizer (specs/engram.md §10).
#include "core/text_corpus.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace v4lab {

void tokenize_words(const std::string& text, std::unordered_map<std::string, int32_t>& index,
                    std::vector<std::string>& vocab, std::vector<int32_t>& ids) {
  std::string w;
  auto flush = [&] {
    if (w.empty()) return;
    auto [it, fresh] = index.emplace(w, int32_t(vocab.size()));
    if (fresh) vocab.push_back(w);
    ids.push_back(it->second);
    w.clear();
  };
  for (unsigned char ch : text) {
    if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z')) w.push_back(char(ch));
    else if (ch >= 'A' && ch <= 'Z') w.push_back(char(ch - 'A' + 'a'));
    else flush();
  }
  flush();
}

TextCorpus load_text_corpus(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  TextCorpus c;
  c.path = path;
  const fs::path p(path);
  if (!fs::exists(p, ec)) throw config_error("corpus not found (install the Debian package `fortunes`, or pass a text file)", path);
  if (fs::is_directory(p, ec)) {
    for (auto& e : fs::directory_iterator(p, ec)) {
      const std::string fn = e.path().filename().string();
      if (e.is_symlink() || !e.is_regular_file() || fn.empty() || fn[0] == '.' || e.path().extension() == ".dat")
        continue;
      c.files.push_back(e.path().string());
    }
    std::sort(c.files.begin(), c.files.end());
    c.name = p.filename().string().empty() ? p.parent_path().filename().string() : p.filename().string();
  } else {
    c.files.push_back(path);
    c.name = p.stem().string();
  }
  std::unordered_map<std::string, int32_t> index;
  for (auto& f : c.files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) throw config_error("cannot read corpus file", f);
    std::ostringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    c.bytes += int64_t(text.size());
    tokenize_words(text, index, c.vocab, c.token_ids);
  }
  if (c.token_ids.empty()) throw config_error("corpus holds no words", path);
  return c;
}

}  // namespace v4lab
