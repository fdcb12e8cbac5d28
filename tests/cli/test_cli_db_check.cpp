// test_cli_db_check.cpp — `v4lab db check` through run_cli: JSON and exit codes (0 ok, 1 problems, 2 bad
// input); an old database says "migrate" until `db migrate`; a garbage --db is refused (exit 2) and untouched.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "cli_test_util.h"

namespace {

std::string file_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void sql_exec(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  const int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close(h);
  REQUIRE(rc == SQLITE_OK);
}

}  // namespace

TEST_CASE("db check: exit 0 with --json on a database written by predict, 1 with the problem named", "[cli][store][check]") {
  const std::string dir = fresh_dir("db_check_ok");
  const std::string db = dir + "/v4lab.db";
  REQUIRE(cli({"--quiet", "--db", db, "predict", "--model", "deepseek_v4_flash"}).code == 0);
  auto r = cli({"--json", "--db", db, "db", "check"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["ok"] == true);
  CHECK(j["database"] == db);
  CHECK(j["row_counts"]["runs"] == 1);
  CHECK(j["row_counts"]["predictions"].get<long long>() > 0);
  CHECK(cli({"db", "check", db}).code == 0);  // positional FILE, table output

  sql_exec(db, "PRAGMA foreign_keys = OFF; DELETE FROM runs;");
  r = cli({"--json", "db", "check", db});
  CHECK(r.code == 1);
  j = nlohmann::json::parse(r.out);
  CHECK(j["ok"] == false);
  bool orphan_failed = false;
  for (auto& c : j["checks"])
    if (c["name"] == "orphan_rows") orphan_failed = !c["ok"].get<bool>() && !c["problems"].empty();
  CHECK(orphan_failed);
}

TEST_CASE("db check: missing file 2, garbage 1, newer schema 2, old schema 1 until db migrate", "[cli][store][check]") {
  const std::string dir = fresh_dir("db_check_bad");
  CHECK(cli({"db", "check", dir + "/nope.db"}).code == 2);
  CHECK_FALSE(std::filesystem::exists(dir + "/nope.db"));

  const std::string garbage = dir + "/garbage.db";
  std::ofstream(garbage) << "definitely not SQLite\n";
  auto r = cli({"--json", "db", "check", garbage});
  CHECK(r.code == 1);
  CHECK(nlohmann::json::parse(r.out)["ok"] == false);

  const std::string v1 = dir + "/v1.db";
  sql_exec(v1, file_text(source_path("tests/store/fixtures/v1_schema.sql")));
  r = cli({"db", "check", v1});
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Catch::Contains("migrate with `v4lab db migrate --db " + v1 + "`"));
  r = cli({"--db", v1, "db", "list"});  // reading commands refuse the old schema with the same hint
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("v4lab db migrate"));
  REQUIRE(cli({"--db", v1, "db", "migrate"}).code == 0);
  r = cli({"--json", "db", "check", v1});
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(sql_int(v1, "SELECT count(*) FROM measurements") == 2);

  sql_exec(v1, "PRAGMA user_version = 42");
  r = cli({"db", "check", v1});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("schema version 42, newer than this v4lab binary supports"));
  r = cli({"--quiet", "--db", v1, "predict", "--model", "deepseek_v4_flash"});
  CHECK(r.code == 2);
  CHECK(sql_int(v1, "SELECT count(*) FROM runs") == 2);
}
