// sqlite.h — a thin RAII layer over the SQLite C API used by the store: prepared statements with
// bound parameters (no SQL is ever built from values), NULL <-> NaN / "" mapping, and errors turned
// into v4lab::Error naming the database file. Private to v4lab_store.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace v4lab::store::detail {

// "; <what the user can do>" for SQLITE_FULL / READONLY / BUSY / IOERR / CORRUPT, "" for other codes.
std::string fault_hint(int rc);

// Throws runtime_error "<what>: <sqlite message> (code N)" with `where` = the database path.
[[noreturn]] void throw_sqlite(sqlite3* db, int rc, const std::string& what, const std::string& where);

// Runs one or more SQL statements that take no parameters (DDL, PRAGMA, BEGIN/COMMIT).
void exec(sqlite3* db, const char* sql, const std::string& where);

// One prepared statement. Parameters are 1-based as in SQLite; columns are 0-based.
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql, std::string where);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, int64_t v);
  Statement& bind(int i, double v);            // NaN binds NULL ("not known")
  Statement& bind(int i, std::string_view v);  // always TEXT, "" stays ""
  Statement& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Statement& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Statement& bind_text_or_null(int i, std::string_view v);  // "" binds NULL
  Statement& bind(int i, std::optional<bool> v);            // nullopt binds NULL, else 0/1
  Statement& bind_null(int i);

  // Advances one row: true when a row is available, false when the statement is done.
  bool step();
  // Runs a statement that returns no rows (INSERT/UPDATE/DELETE), then resets it for reuse.
  void run();
  void reset();  // clears bindings too

  bool is_null(int col) const;
  int64_t column_int(int col) const;               // NULL -> 0
  double column_double(int col) const;             // NULL -> NaN
  std::string column_text(int col) const;          // NULL -> ""
  std::optional<bool> column_bool(int col) const;  // NULL -> nullopt

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string where_;
  std::string sql_head_;  // first words of the SQL, for error messages
};

}  // namespace v4lab::store::detail
