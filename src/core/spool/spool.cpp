#include "core/spool/spool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <deque>
#include <system_error>
#include <utility>

#include "core/common/fs.hpp"
#include "core/spool/format.hpp"

namespace ef::spool {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kLogName = "log";
constexpr std::string_view kStateName = "state";
constexpr std::uint64_t kMaxStateBytes = 4096;
constexpr std::uint64_t kDiskBlockBytes = 4096;  // ext4's, and most others' on the devices

struct SegmentInfo {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t records = 0;
  std::uint64_t file_bytes = 0;

  // What the file takes on disk, the unit of max_bytes: a file system gives whole blocks, and at
  // one small segment a minute the rounding alone is a quarter of the folder.
  std::uint64_t disk_bytes() const {
    return (file_bytes + kDiskBlockBytes - 1) / kDiskBlockBytes * kDiskBlockBytes;
  }
};

// The segments by id, oldest first: ids only grow, so new ones go at the back and the oldest leave
// from the front. 40 bytes an entry, in blocks (a map would cost a heap node per segment).
using SegmentIndex = std::deque<std::pair<std::uint64_t, SegmentInfo>>;

SegmentIndex::iterator find_segment(SegmentIndex& index, std::uint64_t id) {
  const auto it =
      std::lower_bound(index.begin(), index.end(), id,
                       [](const auto& entry, std::uint64_t v) { return entry.first < v; });
  return it != index.end() && it->first == id ? it : index.end();
}

std::string segment_name(std::uint64_t id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "seg-%016llx.bin", static_cast<unsigned long long>(id));
  return buf;
}

std::optional<std::uint64_t> parse_segment_name(std::string_view name) {
  if (name.size() != 24 || !name.starts_with("seg-") || !name.ends_with(".bin")) return {};
  std::uint64_t id = 0;
  for (char c : name.substr(4, 16)) {
    int digit = 0;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return {};
    }
    id = id * 16 + static_cast<std::uint64_t>(digit);
  }
  return id;
}

bool is_ours(std::string_view name) {
  return name == kLogName || name == kStateName || parse_segment_name(name).has_value();
}

// Our temporary files: "<name>.tmp" (unsynced writes) and write_file_atomic's ".<name>.tmp<n>".
bool is_temporary(std::string_view name) {
  if (name.ends_with(".tmp")) return is_ours(name.substr(0, name.size() - 4));
  if (!name.starts_with(".")) return false;
  const auto pos = name.find(".tmp", 1);
  if (pos == std::string_view::npos) return false;
  const auto digits = name.substr(pos + 4);
  return is_ours(name.substr(1, pos - 1)) &&
         std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Reads exactly n bytes at offset; a short read is Errc::malformed (the file ends early).
Status pread_exact(int fd, char* buf, std::size_t n, std::uint64_t offset) {
  while (n > 0) {
    const ssize_t got = ::pread(fd, buf, n, static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      return make_error(Errc::io, "read failed: " + errno_text(errno));
    }
    if (got == 0) return make_error(Errc::malformed, "file ends early");
    buf += got;
    n -= static_cast<std::size_t>(got);
    offset += static_cast<std::uint64_t>(got);
  }
  return {};
}

// Replaces path with data: durably through write_file_atomic when sync is on, else by a plain
// temporary file and rename (still atomic for readers, not against a power cut).
Status write_replace(const Options& options, const fs::path& path, std::string_view data) {
  if (options.sync) return write_file_atomic(path, data, 0600);
  const fs::path tmp = path.string() + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return os_error("cannot create", tmp, errno);
  if (auto st = write_all(fd.get(), data); !st) {
    ::unlink(tmp.c_str());
    return std::move(st).error().context("writing " + tmp.string());
  }
  fd = UniqueFd();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return os_error("cannot rename onto", path, err);
  }
  return {};
}

// Checks a segment file end to end (header, size, payload CRC) reading 64 KiB at a time, so that
// open() keeps memory flat whatever the backlog.
Result<SegmentInfo> check_segment(int fd, std::uint64_t file_bytes) {
  char header[format::kSegmentHeaderBytes];
  EF_CHECK(pread_exact(fd, header, sizeof header, 0));
  EF_TRY(auto h, format::decode_segment_header(std::string_view(header, sizeof header)));
  if (file_bytes != format::kSegmentHeaderBytes + h.payload_bytes)
    return make_error(Errc::malformed, "segment size differs from its header");
  std::string buf(64 * 1024, '\0');
  std::uint32_t crc = 0;
  for (std::uint64_t off = 0; off < h.payload_bytes;) {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), h.payload_bytes - off));
    EF_CHECK(pread_exact(fd, buf.data(), n, format::kSegmentHeaderBytes + off));
    crc = format::crc32c(std::string_view(buf.data(), n), crc);
    off += n;
  }
  if (crc != h.payload_crc) return make_error(Errc::malformed, "segment payload CRC mismatch");
  return SegmentInfo{h.first_sequence, h.last_sequence, h.records, file_bytes};
}

Result<Segment> parse_segment(std::uint64_t id, std::string data) {
  EF_TRY(auto h, format::decode_segment_header(data));
  if (data.size() != format::kSegmentHeaderBytes + h.payload_bytes)
    return make_error(Errc::malformed, "segment size differs from its header");
  data.erase(0, format::kSegmentHeaderBytes);
  if (format::crc32c(data) != h.payload_crc)
    return make_error(Errc::malformed, "segment payload CRC mismatch");
  return Segment{id, h.first_sequence, h.last_sequence, h.records, std::move(data)};
}

struct LogScan {
  std::uint64_t valid_end = 0;  // end of the last good record
  std::uint64_t stale_end = 0;  // end of the last record at or below drop_through
  std::uint64_t records = 0;    // good records above drop_through
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};

using RecordVisitor = std::function<void(std::uint64_t sequence, std::string&& bytes)>;

// Walks the log's records from the start until `end` or the first bad one: a frame that does not
// fit in what is left of the file (whatever length it declares: nothing is allocated for it), a
// CRC mismatch, or a sequence that does not grow. Records at or below drop_through are skipped.
Result<LogScan> scan_log(int fd, std::uint64_t end, std::uint64_t drop_through,
                         const RecordVisitor* visit) {
  LogScan scan;
  std::uint64_t previous = 0;
  std::string bytes;
  for (std::uint64_t off = 0; end - off >= format::kFrameHeaderBytes;) {
    char raw[format::kFrameHeaderBytes];
    EF_CHECK(pread_exact(fd, raw, sizeof raw, off));
    const auto h = format::decode_frame_header(raw);
    if (h.length > kMaxRecordBytes || h.length > end - off - format::kFrameHeaderBytes) break;
    if (h.sequence == 0 || h.sequence <= previous) break;
    bytes.resize(h.length);
    EF_CHECK(pread_exact(fd, bytes.data(), h.length, off + format::kFrameHeaderBytes));
    if (format::frame_crc(h.sequence, bytes) != h.crc) break;
    off += format::kFrameHeaderBytes + h.length;
    previous = h.sequence;
    scan.valid_end = off;
    if (h.sequence <= drop_through) {
      scan.stale_end = off;
      continue;
    }
    if (scan.records++ == 0) scan.first = h.sequence;
    scan.last = h.sequence;
    if (visit) (*visit)(h.sequence, std::move(bytes));
  }
  return scan;
}

Error usage_error() {
  return make_error(Errc::internal,
                    "the spool could not empty its log after sealing: open it again to recover");
}

}  // namespace

struct Spool::State {
  Options options;
  UniqueFd log;
  std::uint64_t log_bytes = 0;
  std::uint64_t log_records = 0;
  std::uint64_t log_first = 0;
  SegmentIndex segments;
  std::uint64_t segment_bytes = 0;    // in whole blocks
  std::uint64_t segment_records = 0;  // sealed and not yet removed or evicted
  format::PersistentState live;       // counters and next numbers as they are now
  format::PersistentState written;    // as the state file holds them
  bool broken = false;

  fs::path path(std::string_view name) const { return options.dir / name; }

  Status write_state(const format::PersistentState& next) {
    EF_CHECK(write_replace(options, path(kStateName), format::encode_state(next)));
    written = next;
    return {};
  }

  Status load_state();
  Status scan_folder();
  Status index_segment(std::uint64_t id, const fs::path& file);
  Status recover_log();
  Status cut_log(std::uint64_t scan_end, const LogScan& scan);
  Status truncate_log(std::uint64_t size);
  void drop_segment(SegmentIndex::iterator it);

  void add_segment(std::uint64_t id, const SegmentInfo& info) {
    segments.emplace_back(id, info);
    segment_bytes += info.disk_bytes();
    segment_records += info.records;
  }
  void forget_segment(SegmentIndex::iterator it) {
    segment_bytes -= it->second.disk_bytes();
    segment_records -= it->second.records;
    segments.erase(it);
  }
};

Status Spool::State::load_state() {
  auto text = read_file(path(kStateName), kMaxStateBytes);
  if (!text) {
    // A missing state is a new spool; an unreadable one must not stop the queue: the sequence
    // numbers are recovered from the files (only the counters start again).
    if (text.error().code == Errc::io) return std::move(text).error();
    return {};
  }
  auto decoded = format::decode_state(*text);
  if (decoded) written = live = *decoded;
  return {};
}

Status Spool::State::index_segment(std::uint64_t id, const fs::path& file) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return os_error("cannot open", file, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return os_error("cannot stat", file, errno);
  if (!S_ISREG(st.st_mode)) return {};  // not ours after all: left alone
  auto info = check_segment(fd.get(), static_cast<std::uint64_t>(st.st_size));
  if (!info) {
    if (info.error().code == Errc::io) return std::move(info).error().context(file.string());
    ::unlink(file.c_str());
    ++live.corrupt_segments_total;
    return {};
  }
  add_segment(id, *info);
  return {};
}

// Lists the folder keeping only segment ids (8 bytes each: a 72-hour backlog is thousands of
// files), removes our temporary files, then checks the segments oldest first.
Status Spool::State::scan_folder() {
  std::error_code ec;
  std::vector<std::uint64_t> ids;
  for (fs::directory_iterator it(options.dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (is_temporary(name)) {
      ::unlink(it->path().c_str());
    } else if (const auto id = parse_segment_name(name)) {
      ids.push_back(*id);
    }
  }
  if (ec) return make_error(Errc::io, "cannot list " + options.dir.string() + ": " + ec.message());
  std::sort(ids.begin(), ids.end());
  for (const std::uint64_t id : ids) {
    const fs::path file = path(segment_name(id));
    if (id <= live.evicted_through) {
      ::unlink(file.c_str());  // an eviction a crash interrupted: already counted
      continue;
    }
    EF_CHECK(index_segment(id, file));
  }
  return {};
}

Status Spool::State::truncate_log(std::uint64_t size) {
  if (::ftruncate(log.get(), static_cast<off_t>(size)) != 0)
    return os_error("cannot truncate", path(kLogName), errno);
  if (options.sync && ::fsync(log.get()) != 0)
    return os_error("cannot fsync", path(kLogName), errno);
  log_bytes = size;
  return {};
}

// Drops the stale records a crash between writing a segment and emptying the log left at its
// start. They are normally the whole log; otherwise the rest is kept by rewriting the log.
Status Spool::State::cut_log(std::uint64_t file_bytes, const LogScan& scan) {
  if (scan.valid_end < file_bytes) {
    EF_CHECK(truncate_log(scan.valid_end));
    live.torn_bytes_cut_total += file_bytes - scan.valid_end;
  }
  if (scan.stale_end == 0) return {};
  if (scan.stale_end == scan.valid_end) return truncate_log(0);
  std::string rest(scan.valid_end - scan.stale_end, '\0');
  EF_CHECK(pread_exact(log.get(), rest.data(), rest.size(), scan.stale_end));
  EF_CHECK(write_replace(options, path(kLogName), rest));
  log = UniqueFd(::open(path(kLogName).c_str(), O_RDWR | O_APPEND | O_CLOEXEC));
  if (!log.valid()) return os_error("cannot open", path(kLogName), errno);
  log_bytes = rest.size();
  return {};
}

Status Spool::State::recover_log() {
  const fs::path file = path(kLogName);
  log = UniqueFd(::open(file.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!log.valid()) return os_error("cannot open", file, errno);
  struct stat st {};
  if (::fstat(log.get(), &st) != 0) return os_error("cannot stat", file, errno);
  const auto file_bytes = static_cast<std::uint64_t>(st.st_size);
  const std::uint64_t sealed_through = segments.empty() ? 0 : segments.rbegin()->second.last;
  EF_TRY(LogScan scan, scan_log(log.get(), file_bytes, sealed_through, nullptr));
  log_bytes = file_bytes;
  EF_CHECK(cut_log(file_bytes, scan));
  log_records = scan.records;
  log_first = scan.first;
  live.next_sequence = std::max({live.next_sequence, sealed_through + 1, scan.last + 1});
  return {};
}

void Spool::State::drop_segment(SegmentIndex::iterator it) {
  ::unlink(path(segment_name(it->first)).c_str());
  forget_segment(it);
}

Result<Spool> Spool::open(Options options) {
  if (options.dir.empty()) return make_error(Errc::invalid_argument, "spool folder not set");
  const bool created = !fs::is_directory(options.dir);
  EF_CHECK(make_dirs(options.dir, 0700));
  // The new folder's own entry must survive a power cut too (the files in it are synced later).
  if (created && options.sync && options.dir.has_parent_path())
    EF_CHECK(fsync_dir(options.dir.parent_path()));
  auto s = std::make_unique<State>();
  s->options = std::move(options);
  EF_CHECK(s->load_state());
  EF_CHECK(s->scan_folder());
  EF_CHECK(s->recover_log());
  if (!s->segments.empty())
    s->live.next_segment_id = std::max(s->live.next_segment_id, s->segments.rbegin()->first + 1);
  if (s->live != s->written || !fs::exists(s->path(kStateName))) EF_CHECK(s->write_state(s->live));
  return Spool(std::move(s));
}

Result<std::uint64_t> Spool::append(std::string_view record) {
  State& s = *state_;
  if (s.broken) return usage_error();
  if (record.size() > kMaxRecordBytes)
    return make_error(Errc::too_large,
                      "a spool record is at most " + std::to_string(kMaxRecordBytes) + " bytes");
  const std::uint64_t sequence = s.live.next_sequence;
  const std::string frame = format::encode_frame(sequence, record);
  auto written = write_all(s.log.get(), frame);
  if (written && s.options.sync && ::fdatasync(s.log.get()) != 0)
    written = os_error("cannot fdatasync", s.path(kLogName), errno);
  if (!written) {
    // Leave no partial frame behind for the next append to follow.
    (void)::ftruncate(s.log.get(), static_cast<off_t>(s.log_bytes));
    return std::move(written).error().context("appending to the spool");
  }
  s.log_bytes += frame.size();
  if (s.log_records++ == 0) s.log_first = sequence;
  s.live.next_sequence = sequence + 1;
  return sequence;
}

Result<std::vector<Record>> Spool::open_records() const {
  State& s = *state_;
  if (s.broken) return usage_error();
  std::vector<Record> records;
  records.reserve(s.log_records);
  const RecordVisitor collect = [&](std::uint64_t sequence, std::string&& bytes) {
    records.push_back({sequence, std::move(bytes)});
  };
  EF_TRY(LogScan scan, scan_log(s.log.get(), s.log_bytes, 0, &collect));
  if (scan.valid_end != s.log_bytes || scan.records != s.log_records)
    return make_error(Errc::malformed, "the spool log changed under the spool");
  return records;
}

Status Spool::seal(const Combine& combine) {
  State& s = *state_;
  if (s.broken) return usage_error();
  if (s.log_records == 0) return {};
  EF_TRY(std::vector<Record> records, open_records());
  EF_TRY(std::string payload, combine(records));
  const std::uint64_t id = s.live.next_segment_id;
  const format::SegmentHeader header{records.front().sequence, records.back().sequence,
                                     records.size(), payload.size(), format::crc32c(payload)};
  std::string file = format::encode_segment_header(header);
  file += payload;
  const SegmentInfo info{header.first_sequence, header.last_sequence, header.records, file.size()};

  // Plan the eviction so the state written below already counts it (the commit point).
  format::PersistentState next = s.live;
  next.next_segment_id = id + 1;
  std::vector<std::uint64_t> evict;
  // The state file's block counts too, so that du of the folder stays within max_bytes.
  std::uint64_t total = kDiskBlockBytes + s.segment_bytes + info.disk_bytes();
  auto count = [&](std::uint64_t victim, const SegmentInfo& v) {
    if (total <= s.options.max_bytes) return false;
    evict.push_back(victim);
    total -= v.disk_bytes();
    ++next.evicted_segments_total;
    next.evicted_records_total += v.records;
    next.evicted_through = victim;
    return true;
  };
  for (const auto& [victim, v] : s.segments)
    if (!count(victim, v)) break;
  count(id, info);

  const fs::path seg_path = s.path(segment_name(id));
  EF_CHECK(write_replace(s.options, seg_path, file));
  if (auto st = s.write_state(next); !st) {
    ::unlink(seg_path.c_str());
    return st;
  }
  // From here the segment holds the records: a crash before the log is emptied is undone by
  // open() dropping the log's records at or below the newest segment's last sequence.
  s.live = next;
  s.add_segment(id, info);
  if (auto st = s.truncate_log(0); !st) {
    s.broken = true;
    return st;
  }
  s.log_records = 0;
  s.log_first = 0;
  for (std::uint64_t victim : evict)
    s.drop_segment(find_segment(s.segments, victim));
  return {};
}

Result<std::optional<Segment>> Spool::oldest() const {
  State& s = *state_;
  if (s.broken) return usage_error();
  while (!s.segments.empty()) {
    const auto it = s.segments.begin();
    auto data = read_file(s.path(segment_name(it->first)), it->second.file_bytes);
    if (!data && data.error().code == Errc::io) return std::move(data).error();
    if (data) {
      auto seg = parse_segment(it->first, std::move(*data));
      if (seg && seg->last_sequence == it->second.last)
        return std::optional<Segment>(*std::move(seg));
    }
    // Damaged or gone since open(): counted and skipped, so one bad file never stops the queue.
    s.drop_segment(it);
    ++s.live.corrupt_segments_total;
    (void)s.write_state(s.live);
  }
  return std::optional<Segment>{};
}

Status Spool::remove(std::uint64_t segment_id) {
  State& s = *state_;
  if (s.broken) return usage_error();
  const auto it = find_segment(s.segments, segment_id);
  if (it == s.segments.end())
    return make_error(Errc::not_found,
                      "no segment " + std::to_string(segment_id) + " in the spool");
  const fs::path file = s.path(segment_name(segment_id));
  if (::unlink(file.c_str()) != 0 && errno != ENOENT) return os_error("cannot delete", file, errno);
  s.forget_segment(it);
  // A delivered segment that came back after a power cut would be delivered twice.
  if (s.options.sync) EF_CHECK(fsync_dir(s.options.dir));
  return {};
}

Stats Spool::stats() const {
  const State& s = *state_;
  Stats st;
  st.open_records = s.log_records;
  st.segments = s.segments.size();
  st.pending_records = s.log_records + s.segment_records;
  st.bytes = s.log_bytes + s.segment_bytes;
  st.oldest_sequence = !s.segments.empty() ? s.segments.begin()->second.first : s.log_first;
  st.evicted_segments_total = s.live.evicted_segments_total;
  st.evicted_records_total = s.live.evicted_records_total;
  st.torn_bytes_cut_total = s.live.torn_bytes_cut_total;
  st.corrupt_segments_total = s.live.corrupt_segments_total;
  return st;
}

Spool::Spool(std::unique_ptr<State> state) : state_(std::move(state)) {}
Spool::Spool(Spool&&) noexcept = default;
Spool& Spool::operator=(Spool&&) noexcept = default;
Spool::~Spool() = default;

}  // namespace ef::spool
