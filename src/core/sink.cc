#include "core/sink.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dcmon {
namespace {

class NdjsonSink final : public Sink {
 public:
  NdjsonSink(int fd, bool owned, std::string name)
      : fd_(fd), owned_(owned), name_(std::move(name)) {
    buffer_.reserve(kBufferBytes + 4096);
  }
  ~NdjsonSink() override {
    (void)Flush();
    if (owned_) ::close(fd_);
  }

  Status Write(std::string_view, std::string_view line) override {
    buffer_.append(line);
    buffer_.push_back('\n');
    return buffer_.size() >= kBufferBytes ? Flush() : Status::Ok();
  }

  Status Flush() override {
    size_t done = 0;
    while (done < buffer_.size()) {
      const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        buffer_.clear();  // what could not be written is reported, not retried forever
        return IoError(fmt::format("{}: {}", name_, std::strerror(errno)));
      }
      done += static_cast<size_t>(n);
    }
    buffer_.clear();
    return Status::Ok();
  }

 private:
  static constexpr size_t kBufferBytes = 1 << 20;
  int fd_;
  bool owned_;
  std::string name_;
  std::string buffer_;
};

}  // namespace

Result<std::unique_ptr<Sink>> OpenNdjsonSink(const std::string& path) {
  if (path == "-") return std::unique_ptr<Sink>(new NdjsonSink(STDOUT_FILENO, false, "stdout"));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return IoError(fmt::format("{}: {}", path, std::strerror(errno)));
  return std::unique_ptr<Sink>(new NdjsonSink(fd, true, path));
}

}  // namespace dcmon
