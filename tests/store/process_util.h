// process_util.h — run the real v4lab binary (V4LAB_BIN_DIR) as a child process for the storage-fault
// and bad-input tests: optional file-size limit (a "full disk" without root), optional unprivileged user
// (so a read-only file is read-only even when the suite runs as root), stdout/stderr captured to files.
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace v4lab::test {

inline std::string v4lab_bin() { return std::string(V4LAB_BIN_DIR) + "/v4lab"; }

struct SpawnOptions {
  std::string out_file = "/dev/null";  // child's stdout
  std::string err_file = "/dev/null";  // child's stderr
  long long fsize_limit = -1;          // RLIMIT_FSIZE in bytes (SIGXFSZ ignored: writes fail with EFBIG)
  bool as_nobody = false;              // when running as root: drop to uid/gid 65534 first
};

// fork + exec of `v4lab args...`; returns the pid (the caller waits). Async-signal-safe in the child.
inline pid_t spawn_v4lab(const std::vector<std::string>& args, const SpawnOptions& o = {}) {
  std::vector<std::string> all = {v4lab_bin()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid != 0) return pid;
  const int out = ::open(o.out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
  const int err = ::open(o.err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
  if (out < 0 || err < 0) _exit(125);
  dup2(out, 1);
  dup2(err, 2);
  if (o.as_nobody && geteuid() == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(126);
  }
  if (o.fsize_limit >= 0) {
    signal(SIGXFSZ, SIG_IGN);  // ignored dispositions survive exec: the write fails instead of killing
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = static_cast<rlim_t>(o.fsize_limit);
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(127);
  }
  execv(argv[0], argv.data());
  _exit(124);
}

struct ProcResult {
  int code = -1;      // exit code; -1 when killed by a signal
  int signal = 0;     // the signal that ended it, 0 if it exited
  std::string out, err;
};

inline std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline ProcResult wait_for(pid_t pid, const SpawnOptions& o = {}) {
  int st = 0;
  ProcResult r;
  if (waitpid(pid, &st, 0) != pid) return r;
  if (WIFEXITED(st)) r.code = WEXITSTATUS(st);
  if (WIFSIGNALED(st)) r.signal = WTERMSIG(st);
  if (o.out_file != "/dev/null") r.out = read_text(o.out_file);
  if (o.err_file != "/dev/null") r.err = read_text(o.err_file);
  return r;
}

// Runs the binary to completion with stdout/stderr captured in `dir`.
inline ProcResult run_v4lab(const std::vector<std::string>& args, const std::string& dir, SpawnOptions o = {}) {
  o.out_file = dir + "/stdout.txt";
  o.err_file = dir + "/stderr.txt";
  return wait_for(spawn_v4lab(args, o), o);
}

}  // namespace v4lab::test
