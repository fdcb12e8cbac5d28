// sqlite.cpp — RAII prepared statements and error mapping for the store (see sqlite.h).
#include "store/detail/sqlite.h"

#include <sqlite3.h>

#include <cmath>
#include <limits>

#include "core/error.h"

namespace v4lab::store::detail {

std::string fault_hint(int rc) {
  switch (rc & 0xFF) {
    case SQLITE_FULL:
      return "; the disk (or the file-size limit) is full: the transaction was rolled back and nothing of it was "
             "stored; free space and re-run (a sweep continues with --resume)";
    case SQLITE_READONLY:
      return "; the database file or its folder is not writable";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "; another process held the database's write lock longer than the busy timeout";
    case SQLITE_IOERR:
      return "; an I/O error (disk full, file-size limit or a failing disk); the transaction was rolled back";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return "; check the file with `v4lab db check`";
    default:
      return "";
  }
}

void throw_sqlite(sqlite3* db, int rc, const std::string& what, const std::string& where) {
  std::string msg = what + ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  msg += " (SQLite code " + std::to_string(rc) + ")" + fault_hint(rc);
  throw runtime_error(msg, where);
}

void exec(sqlite3* db, const char* sql, const std::string& where) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    std::string head(sql, std::min<size_t>(std::char_traits<char>::length(sql), 40));
    throw runtime_error("SQL '" + head + "...' failed: " + msg + " (SQLite code " + std::to_string(rc) + ")" + fault_hint(rc),
                        where);
  }
}

Statement::Statement(sqlite3* db, std::string_view sql, std::string where) : db_(db), where_(std::move(where)) {
  sql_head_ = std::string(sql.substr(0, 48));
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) throw_sqlite(db_, rc, "preparing '" + sql_head_ + "'", where_);
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

static void check_bind(sqlite3* db, int rc, const std::string& where) {
  if (rc != SQLITE_OK) throw_sqlite(db, rc, "binding a parameter", where);
}

Statement& Statement::bind(int i, int64_t v) {
  check_bind(db_, sqlite3_bind_int64(stmt_, i, v), where_);
  return *this;
}

Statement& Statement::bind(int i, double v) {
  // SQLite would store NaN as NULL anyway; do it explicitly so the meaning ("not known") is ours.
  if (std::isnan(v)) return bind_null(i);
  check_bind(db_, sqlite3_bind_double(stmt_, i, v), where_);
  return *this;
}

Statement& Statement::bind(int i, std::string_view v) {
  check_bind(db_, sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8), where_);
  return *this;
}

Statement& Statement::bind_text_or_null(int i, std::string_view v) { return v.empty() ? bind_null(i) : bind(i, v); }

Statement& Statement::bind(int i, std::optional<bool> v) {
  return v ? bind(i, static_cast<int64_t>(*v ? 1 : 0)) : bind_null(i);
}

Statement& Statement::bind_null(int i) {
  check_bind(db_, sqlite3_bind_null(stmt_, i), where_);
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // Keep the message before reset() replaces it.
  std::string msg = sqlite3_errmsg(db_);
  sqlite3_reset(stmt_);
  throw runtime_error("'" + sql_head_ + "...': " + msg + " (SQLite code " + std::to_string(rc) + ")" + fault_hint(rc),
                      where_);
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

int64_t Statement::column_int(int col) const { return sqlite3_column_int64(stmt_, col); }

double Statement::column_double(int col) const {
  if (is_null(col)) return std::numeric_limits<double>::quiet_NaN();
  return sqlite3_column_double(stmt_, col);
}

std::string Statement::column_text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  if (!p) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::optional<bool> Statement::column_bool(int col) const {
  if (is_null(col)) return std::nullopt;
  return sqlite3_column_int64(stmt_, col) != 0;
}

}  // namespace v4lab::store::detail
