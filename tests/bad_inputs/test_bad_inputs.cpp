// test_bad_inputs.cpp — the bad-input catalogue (tests/bad_inputs/cases/*.case, docs/errors.md): every
// case runs through the real v4lab binary in a fresh folder holding a seeded database; it must exit with
// the case's code (2), print each expected message on stderr, and write nothing: the folder's files are
// byte-identical afterwards and the database has the same rows. Each case and message must be in docs/errors.md.
//
// Case file: `# comment` lines, then `key: value` lines — class (the failure class, for the docs), args
// (whitespace-separated; `--quiet --db @TMP@/v4lab.db` is put in front unless args has --db), expect
// (repeatable substring of stderr), exit, setup (repeatable: `garbage NAME`, `truncated_npy NAME`,
// `schema_version NAME N`). @SRC@ is the source tree, @TMP@ the case's folder.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "store/process_util.h"
#include "store/store.h"
#include "store/store_fixture.h"

namespace fs = std::filesystem;

namespace {

struct Case {
  std::string name, klass, args;
  std::vector<std::string> expect, setup;
  int exit_code = -1;
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
  return s;
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

Case parse_case(const fs::path& file) {
  Case c;
  c.name = file.stem().string();
  std::ifstream f(file);
  std::string line;
  while (std::getline(f, line)) {
    if (trim(line).empty() || trim(line)[0] == '#') continue;
    const size_t colon = line.find(':');
    INFO(file << ": " << line);
    REQUIRE(colon != std::string::npos);
    const std::string key = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
    if (key == "class") c.klass = value;
    else if (key == "args") c.args = value;
    else if (key == "expect") c.expect.push_back(value);
    else if (key == "setup") c.setup.push_back(value);
    else if (key == "exit") c.exit_code = std::stoi(value);
    else FAIL("unknown key '" << key << "' in " << file);
  }
  INFO(file);
  REQUIRE(!c.klass.empty());
  REQUIRE(!c.args.empty());
  REQUIRE(!c.expect.empty());
  REQUIRE(c.exit_code == 2);
  return c;
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const auto& e : fs::directory_iterator(V4LAB_SOURCE_DIR "/tests/bad_inputs/cases"))
    if (e.path().extension() == ".case") cases.push_back(parse_case(e.path()));
  std::sort(cases.begin(), cases.end(), [](const Case& a, const Case& b) { return a.name < b.name; });
  return cases;
}

std::string read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void run_setup(const std::string& step, const std::string& dir) {
  std::istringstream in(step);
  std::string verb, name;
  in >> verb >> name;
  const std::string path = dir + "/" + name;
  if (verb == "garbage") {
    std::ofstream f(path, std::ios::binary);
    for (int i = 0; i < 2048; ++i) f.put(static_cast<char>((i * 97 + 13) & 0xFF));
  } else if (verb == "truncated_npy") {
    // float32 (4, 8) needs 128 data bytes; the file has 20.
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 8), }";
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::ofstream f(path, std::ios::binary);
    f.write("\x93NUMPY\x01\x00", 8);
    f.put(static_cast<char>(header.size() & 0xFF));
    f.put(static_cast<char>(header.size() >> 8));
    f << header << std::string(20, '\x01');
  } else if (verb == "schema_version") {
    int version = 0;
    in >> version;
    { v4lab::store::Store s(path); }
    sqlite3* h = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &h) == SQLITE_OK);
    // Rollback journal, not WAL: reading the file then creates no -wal/-shm, so "untouched" is byte-exact.
    REQUIRE(sqlite3_exec(h, ("PRAGMA journal_mode = DELETE; PRAGMA user_version = " + std::to_string(version)).c_str(),
                         nullptr, nullptr, nullptr) ==
            SQLITE_OK);
    sqlite3_close(h);
  } else {
    FAIL("unknown setup step '" << step << "'");
  }
}

// Every file under dir with its bytes: "nothing written" means this map is unchanged.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> m;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(e.path(), dir).string();
    if (rel == "stdout.txt" || rel == "stderr.txt") continue;
    m[rel] = e.is_regular_file() ? read_all(e.path()) : std::string("<dir>");
  }
  return m;
}

// Sum of the rows of every table of a v4lab database.
long long total_rows(const std::string& db) {
  sqlite3* h = nullptr;
  // Read-write without writing: the last read-write connection removes the WAL's -wal/-shm files on
  // close (a read-only one would leave them behind and the folder snapshot would differ).
  REQUIRE(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  std::vector<std::string> tables;
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(h, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'", -1, &st, nullptr);
  while (sqlite3_step(st) == SQLITE_ROW) tables.push_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  sqlite3_finalize(st);
  long long n = 0;
  for (const auto& t : tables) {
    sqlite3_prepare_v2(h, ("SELECT count(*) FROM \"" + t + "\"").c_str(), -1, &st, nullptr);  // names from sqlite_master
    if (sqlite3_step(st) == SQLITE_ROW) n += sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(h);
  return n;
}

std::vector<std::string> split_args(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string a; in >> a;) out.push_back(a);
  return out;
}

}  // namespace

TEST_CASE("bad inputs: every catalogue case exits 2 with its documented message and writes nothing", "[bad_inputs][cli]") {
  const auto cases = all_cases();
  REQUIRE(cases.size() >= 9);  // one per failure class of issue 10, at least
  const std::string root = (fs::temp_directory_path() / ("v4lab_bad_inputs_" + std::to_string(::getpid()))).string();
  for (const Case& c : cases) {
    const std::string dir = root + "/" + c.name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string db = dir + "/v4lab.db";
    {
      v4lab::store::Store s(db);
      s.write_run(v4lab::test::synthetic_run());
    }
    for (const auto& step : c.setup) run_setup(step, dir);
    const auto before = snapshot(dir);
    const long long rows = total_rows(db);

    auto sub = [&](const std::string& s) { return replace_all(replace_all(s, "@SRC@", V4LAB_SOURCE_DIR), "@TMP@", dir); };
    std::vector<std::string> args = split_args(sub(c.args));
    if (std::find(args.begin(), args.end(), "--db") == args.end()) args.insert(args.begin(), {"--quiet", "--db", db});
    const v4lab::test::ProcResult r = v4lab::test::run_v4lab(args, dir);

    INFO("case " << c.name << " (" << c.klass << "): v4lab " << sub(c.args) << "\nexit " << r.code << ", stderr:\n" << r.err);
    CHECK(r.signal == 0);
    CHECK(r.code == c.exit_code);
    for (const auto& e : c.expect) CHECK_THAT(r.err, Catch::Contains(sub(e)));
    CHECK(r.err.find("v4lab: error: ") != std::string::npos);  // one message format for every error
    CHECK(snapshot(dir) == before);                            // no output file, report dir or DB sidecar
    CHECK(total_rows(db) == rows);                             // no new rows
  }
  fs::remove_all(root);
}

TEST_CASE("bad inputs: docs/errors.md lists every catalogue case with its class and messages", "[bad_inputs]") {
  const std::string doc = read_all(V4LAB_SOURCE_DIR "/docs/errors.md");
  REQUIRE(!doc.empty());
  for (const Case& c : all_cases()) {
    INFO("case " << c.name);
    CHECK_THAT(doc, Catch::Contains("`" + c.name + "`"));
    CHECK_THAT(doc, Catch::Contains(c.klass));
    for (const auto& e : c.expect) CHECK_THAT(doc, Catch::Contains(e));
  }
}
