#include "hub/testing/fake_hub.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "hub/digest.h"

namespace inferline::hub::testing {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using asio::ip::tcp;

namespace {

constexpr auto kToken = asio::as_tuple(asio::use_awaitable);

struct File {
  std::string content;
  bool lfs = false;
  std::string sha256;
  std::string blob_id;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<size_t> cut;  // send only this many body bytes, then drop the connection
};

std::string Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 302: return "Found";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 416: return "Range Not Satisfiable";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

Response Error(int status, std::string code, std::string message) {
  Response r;
  r.status = status;
  if (!code.empty()) r.headers.emplace_back("X-Error-Code", code);
  r.headers.emplace_back("X-Error-Message", message);
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = boost::json::serialize(boost::json::object{{"error", message}});
  return r;
}

}  // namespace

struct FakeHub::Impl {
  asio::io_context ioc;
  tcp::acceptor hub{ioc};
  tcp::acceptor cdn{ioc};
  std::thread thread;
  std::string repo, commit;

  mutable std::mutex mu;  // guards files, faults, log
  std::map<std::string, File> files;
  FakeFaults faults;
  std::vector<FakeRequest> log;

  uint16_t Port(const tcp::acceptor& a) const { return a.local_endpoint().port(); }

  Response Listing(bool blobs) {
    boost::json::array siblings;
    for (const auto& [path, f] : files) {
      boost::json::object s{{"rfilename", path}};
      if (blobs) {
        s["size"] = f.content.size();
        s["blobId"] = f.blob_id;
        if (f.lfs) {
          s["lfs"] = boost::json::object{
              {"sha256", f.sha256}, {"size", f.content.size()}, {"pointerSize", 134}};
        }
      }
      siblings.push_back(std::move(s));
    }
    Response r;
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = boost::json::serialize(
        boost::json::object{{"id", repo}, {"sha", commit}, {"siblings", std::move(siblings)}});
    return r;
  }

  Response Content(const std::string& path, const File& f, std::string_view range) {
    std::string content = f.content;
    if (auto it = faults.corrupt_at.find(path); it != faults.corrupt_at.end() &&
                                                it->second < content.size()) {
      content[it->second] = static_cast<char>(content[it->second] ^ 0x5a);
    }
    Response r;
    r.headers.emplace_back("Accept-Ranges", "bytes");
    r.headers.emplace_back("X-Repo-Commit", commit);
    r.headers.emplace_back("ETag", "\"" + (f.lfs ? f.sha256 : f.blob_id) + "\"");
    uint64_t start = 0;
    if (range.starts_with("bytes=") && range.ends_with("-") && !faults.ignore_range) {
      start = std::stoull(std::string(range.substr(6, range.size() - 7)));
      if (start >= content.size()) {
        r.status = 416;
        r.headers.emplace_back("Content-Range", fmt::format("bytes */{}", content.size()));
        return r;
      }
      r.status = 206;
      r.headers.emplace_back("Content-Range", fmt::format("bytes {}-{}/{}", start,
                                                          content.size() - 1, content.size()));
    }
    r.body = content.substr(start);
    if (auto it = faults.drop_at.find(path);
        it != faults.drop_at.end() && faults.drops > 0 && it->second > start) {
      --faults.drops;
      r.cut = it->second - start;
    }
    return r;
  }

  Response Resolve(std::string_view rest) {  // "{rev}/{path}"
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return Error(404, "", "bad resolve URL");
    std::string rev = PercentDecode(rest.substr(0, slash));
    std::string path = PercentDecode(rest.substr(slash + 1));
    if (rev != "main" && rev != commit) return Error(404, "RevisionNotFound", "Invalid rev id");
    auto it = files.find(path);
    if (it == files.end()) return Error(404, "EntryNotFound", "Entry not found");
    const File& f = it->second;
    if (!f.lfs) return Content(path, f, "");
    Response r;
    r.status = 302;
    std::string cdn_path = fmt::format("/cdn/{}?X-Signature=abc", f.sha256);
    r.headers.emplace_back(
        "Location", faults.relative_redirect
                        ? cdn_path
                        : fmt::format("http://127.0.0.1:{}{}", Port(cdn), cdn_path));
    r.headers.emplace_back("X-Repo-Commit", commit);
    r.headers.emplace_back("ETag", "\"" + f.blob_id + "\"");
    r.headers.emplace_back("X-Linked-Etag", "\"" + f.sha256 + "\"");
    r.headers.emplace_back("X-Linked-Size", std::to_string(f.content.size()));
    return r;
  }

  Response Cdn(std::string_view target, std::string_view range) {
    std::string sha(target.substr(5, target.find('?') - 5));
    for (const auto& [path, f] : files) {
      if (f.lfs && f.sha256 == sha) return Content(path, f, range);
    }
    return Error(404, "", "no such object");
  }

  Response Route(const std::string& server, const bhttp::request<bhttp::string_body>& req) {
    std::lock_guard lock(mu);
    std::string target(req.target());
    log.push_back({server, target, std::string(req[bhttp::field::range]),
                   std::string(req[bhttp::field::authorization])});
    if (faults.unavailable > 0) {
      --faults.unavailable;
      return Error(503, "", "try again later");
    }
    std::string_view range = req[bhttp::field::range];
    if (target.starts_with("/cdn/")) return Cdn(target, range);
    if (server != "hub") return Error(404, "", "not a CDN object");
    if (!faults.required_token.empty() &&
        req[bhttp::field::authorization] != "Bearer " + faults.required_token) {
      return Error(401, "", "Access to this model is restricted. You must be authenticated.");
    }
    if (faults.gated) return Error(403, "GatedRepo", "Access to this model is restricted.");
    std::string api = "/api/models/" + repo + "/revision/";
    if (target.starts_with("/api/models/")) {
      if (!target.starts_with(api)) return Error(404, "RepoNotFound", "Repository not found");
      std::string rest = target.substr(api.size());
      bool blobs = rest.find("blobs=true") != std::string::npos;
      std::string rev = PercentDecode(rest.substr(0, rest.find('?')));
      if (rev != "main" && rev != commit) return Error(404, "RevisionNotFound", "Invalid rev id");
      return Listing(blobs);
    }
    std::string resolve = "/" + repo + "/resolve/";
    if (target.starts_with(resolve)) return Resolve(std::string_view(target).substr(resolve.size()));
    return Error(404, "RepoNotFound", "Repository not found");
  }

  asio::awaitable<void> Serve(tcp::socket socket, std::string server) {
    boost::beast::flat_buffer buffer;
    bhttp::request<bhttp::string_body> req;
    auto [ec, n] = co_await bhttp::async_read(socket, buffer, req, kToken);
    (void)n;
    if (ec) co_return;
    Response r = Route(server, req);
    std::string wire = fmt::format("HTTP/1.1 {} {}\r\n", r.status, Reason(r.status));
    for (const auto& [k, v] : r.headers) wire += fmt::format("{}: {}\r\n", k, v);
    wire += fmt::format("Content-Length: {}\r\nConnection: close\r\n\r\n", r.body.size());
    wire += r.cut ? r.body.substr(0, *r.cut) : r.body;
    auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(wire), kToken);
    (void)wec;
    (void)wn;
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  asio::awaitable<void> Accept(tcp::acceptor& acceptor, std::string server) {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kToken);
      if (ec) co_return;
      asio::co_spawn(ioc, Serve(std::move(socket), server), asio::detached);
    }
  }

  void Listen(tcp::acceptor& a) {
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    a.open(ep.protocol());
    a.set_option(tcp::acceptor::reuse_address(true));
    a.bind(ep);
    a.listen();
  }
};

FakeHub::FakeHub(std::string repo) : repo_(std::move(repo)), impl_(std::make_unique<Impl>()) {
  Digest d(Digest::Kind::kSha1);
  d.Update(repo_);
  commit_ = d.FinishHex();
  impl_->repo = repo_;
  impl_->commit = commit_;
  impl_->Listen(impl_->hub);
  impl_->Listen(impl_->cdn);
  asio::co_spawn(impl_->ioc, impl_->Accept(impl_->hub, "hub"), asio::detached);
  asio::co_spawn(impl_->ioc, impl_->Accept(impl_->cdn, "cdn"), asio::detached);
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

FakeHub::~FakeHub() {
  impl_->ioc.stop();
  impl_->thread.join();
}

void FakeHub::AddFile(const std::string& path, std::string content, bool lfs) {
  File f;
  f.lfs = lfs;
  Digest sha(Digest::Kind::kSha256);
  sha.Update(content);
  f.sha256 = sha.FinishHex();
  Digest blob(Digest::Kind::kSha1);
  std::string header = fmt::format("blob {}", content.size());
  header.push_back('\0');
  blob.Update(header);
  blob.Update(content);
  f.blob_id = blob.FinishHex();
  f.content = std::move(content);
  std::lock_guard lock(impl_->mu);
  impl_->files[path] = std::move(f);
}

void FakeHub::SetFaults(FakeFaults faults) {
  std::lock_guard lock(impl_->mu);
  impl_->faults = std::move(faults);
}

std::string FakeHub::endpoint() const {
  return fmt::format("http://127.0.0.1:{}", impl_->Port(impl_->hub));
}

std::vector<FakeRequest> FakeHub::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->log;
}

void FakeHub::ClearRequests() {
  std::lock_guard lock(impl_->mu);
  impl_->log.clear();
}

std::vector<FakeRequest> FakeHub::RequestsFor(const std::string& needle) const {
  std::vector<FakeRequest> out;
  for (FakeRequest& r : requests()) {
    if (r.target.find(needle) != std::string::npos) out.push_back(std::move(r));
  }
  return out;
}

namespace {

// The tokenizer cut down to ids below `limit` (and the merges among them), so that it fits the
// tiny model's vocabulary and a pulled folder can generate text.
std::string TrimVocabulary(const std::string& text, int64_t limit) {
  boost::system::error_code ec;
  boost::json::value root = boost::json::parse(text, ec);
  if (ec || !root.is_object()) return text;
  boost::json::object& model = root.as_object()["model"].as_object();
  boost::json::object vocab;
  for (const auto& [piece, id] : model["vocab"].as_object()) {
    if (id.as_int64() < limit) vocab[piece] = id;
  }
  boost::json::array merges;
  for (const auto& m : model["merges"].as_array()) {
    std::string merge(m.as_string());
    size_t space = merge.find(' ');
    std::string a = merge.substr(0, space), b = merge.substr(space + 1);
    if (vocab.contains(a) && vocab.contains(b) && vocab.contains(a + b)) merges.push_back(m);
  }
  model["vocab"] = std::move(vocab);
  model["merges"] = std::move(merges);
  return boost::json::serialize(root);
}

}  // namespace

TinyModel LoadTinyModel(const std::filesystem::path& source_dir) {
  auto read = [](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  std::filesystem::path golden = source_dir / "tests/golden";
  return TinyModel{read(golden / "models/gpt2-tiny/config.json"),
                   read(golden / "models/gpt2-tiny/model.safetensors"),
                   TrimVocabulary(read(golden / "tokenizer/sp-bpe/tokenizer.json"), 320)};
}

void AddTinyModel(FakeHub& hub, const TinyModel& model) {
  hub.AddFile("config.json", model.config, false);
  hub.AddFile("tokenizer.json", model.tokenizer, false);
  hub.AddFile("tokenizer_config.json", R"({"model_max_length": 64})", false);
  hub.AddFile("generation_config.json", R"({"bos_token_id": 1, "eos_token_id": 2})", false);
  hub.AddFile("model.safetensors", model.weights, true);
  hub.AddFile("pytorch_model.bin", "pickled weights we never fetch", true);
  hub.AddFile("README.md", "# tiny", false);
}

}  // namespace inferline::hub::testing
