#include "tflite_check.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "error.h"
#include "files.h"

namespace kbd {

namespace {

// A flatbuffer read with every position checked against its size.
class Reader {
 public:
  Reader(std::string bytes, std::string path) : b_(std::move(bytes)), path_(std::move(path)) {}
  size_t size() const { return b_.size(); }
  [[noreturn]] void fail(const std::string& what) const {
    throw bundle_error(path_ + ": not a whole TFLite model (" + what + ")");
  }
  void need(uint64_t pos, uint64_t bytes, const char* what) const {
    if (pos > b_.size() || bytes > b_.size() - pos) fail(std::string(what) + " past the end");
  }
  template <typename T>
  T read(uint64_t pos, const char* what) const {
    need(pos, sizeof(T), what);
    T v;
    std::memcpy(&v, b_.data() + pos, sizeof(T));  // little-endian, as flatbuffers are
    return v;
  }
  // A table at `pos`: checks its vtable; field(k) is the position of field k, or 0 if absent.
  struct Table {
    const Reader* r;
    uint64_t pos, vtable;
    uint16_t vsize;
    uint64_t field(int k) const {
      if (4 + 2 * k >= vsize) return 0;
      uint16_t off = r->read<uint16_t>(vtable + 4 + 2 * k, "vtable");
      return off ? pos + off : 0;
    }
    // the target of an offset field (table, vector or string), 0 if absent
    uint64_t target(int k, const char* what) const {
      uint64_t f = field(k);
      if (!f) return 0;
      uint64_t t = f + r->read<uint32_t>(f, what);
      r->need(t, 4, what);
      return t;
    }
    template <typename T>
    T scalar(int k, T fallback, const char* what) const {
      uint64_t f = field(k);
      return f ? r->read<T>(f, what) : fallback;
    }
  };
  Table table(uint64_t pos, const char* what) const {
    int32_t back = read<int32_t>(pos, what);
    uint64_t vtable = static_cast<uint64_t>(static_cast<int64_t>(pos) - back);
    uint16_t vsize = read<uint16_t>(vtable, what);
    uint16_t tsize = read<uint16_t>(vtable + 2, what);
    if (vsize < 4 || vsize % 2) fail(std::string(what) + ": bad vtable");
    need(vtable, vsize, what);
    need(pos, tsize, what);
    return {this, pos, vtable, vsize};
  }
  // A vector at `pos` (0: absent) of `elem`-byte elements: its length.
  uint32_t vector(uint64_t pos, uint64_t elem, const char* what) const {
    if (!pos) return 0;
    uint32_t n = read<uint32_t>(pos, what);
    need(pos + 4, uint64_t{n} * elem, what);
    return n;
  }
  // The tables of a vector of tables at `pos`.
  std::vector<Table> tables(uint64_t pos, const char* what) const {
    std::vector<Table> out;
    uint32_t n = vector(pos, 4, what);
    for (uint32_t i = 0; i < n; i++) {
      uint64_t at = pos + 4 + 4ull * i;
      out.push_back(table(at + read<uint32_t>(at, what), what));
    }
    return out;
  }
  const std::string& bytes() const { return b_; }

 private:
  std::string b_, path_;
};

void check_tensor(const Reader& r, const Reader::Table& t, uint32_t buffers) {
  r.vector(t.target(0, "tensor shape"), 4, "tensor shape");
  if (t.scalar<uint32_t>(2, 0, "tensor buffer") >= buffers) r.fail("a tensor's buffer index");
  r.vector(t.target(3, "tensor name"), 1, "tensor name");
  if (uint64_t q = t.target(4, "quantization")) {
    Reader::Table quant = r.table(q, "quantization");
    for (int k = 0; k < 3; k++) r.vector(quant.target(k, "quantization"), 4, "quantization");
    r.vector(quant.target(3, "quantization"), 8, "quantization zero points");
  }
  r.vector(t.target(7, "shape signature"), 4, "shape signature");
}

void check_operator(const Reader& r, const Reader::Table& op, uint32_t opcodes,
                    uint32_t tensors) {
  if (op.scalar<uint32_t>(0, 0, "opcode index") >= opcodes) r.fail("an operator's opcode");
  for (int k : {1, 2, 8}) {  // inputs, outputs, intermediates: tensor indices (-1: none)
    uint64_t v = op.target(k, "operator tensors");
    uint32_t n = r.vector(v, 4, "operator tensors");
    for (uint32_t i = 0; i < n; i++) {
      int32_t ix = r.read<int32_t>(v + 4 + 4ull * i, "operator tensors");
      if (ix < -1 || ix >= static_cast<int64_t>(tensors)) r.fail("an operator's tensor index");
    }
  }
  if (uint64_t o = op.target(4, "builtin options")) r.table(o, "builtin options");
  r.vector(op.target(5, "custom options"), 1, "custom options");
}

}  // namespace

void check_tflite(const std::string& path) {
  Reader r(read_file(path), path);
  if (r.size() < 8 || r.bytes().compare(4, 4, "TFL3") != 0)
    r.fail("no TFL3 file identifier");
  Reader::Table model = r.table(r.read<uint32_t>(0, "root"), "model");
  std::vector<Reader::Table> opcodes = r.tables(model.target(1, "operator codes"), "operator codes");
  for (const auto& c : opcodes) r.vector(c.target(1, "custom code"), 1, "custom code");
  std::vector<Reader::Table> buffers = r.tables(model.target(4, "buffers"), "buffers");
  for (const auto& b : buffers) {
    r.vector(b.target(0, "buffer data"), 1, "buffer data");
    uint64_t offset = b.scalar<uint64_t>(1, 0, "buffer offset");
    uint64_t size = b.scalar<uint64_t>(2, 0, "buffer size");
    if (offset > 1) r.need(offset, size, "buffer data");  // (0 and 1 mean: none)
  }
  std::vector<uint32_t> tensor_counts;
  for (const auto& g : r.tables(model.target(2, "subgraphs"), "subgraphs")) {
    std::vector<Reader::Table> tensors = r.tables(g.target(0, "tensors"), "tensors");
    for (const auto& t : tensors) check_tensor(r, t, static_cast<uint32_t>(buffers.size()));
    r.vector(g.target(1, "subgraph inputs"), 4, "subgraph inputs");
    r.vector(g.target(2, "subgraph outputs"), 4, "subgraph outputs");
    for (const auto& op : r.tables(g.target(3, "operators"), "operators"))
      check_operator(r, op, static_cast<uint32_t>(opcodes.size()),
                     static_cast<uint32_t>(tensors.size()));
    r.vector(g.target(4, "subgraph name"), 1, "subgraph name");
    tensor_counts.push_back(static_cast<uint32_t>(tensors.size()));
  }
  r.vector(model.target(3, "description"), 1, "description");
  r.vector(model.target(5, "metadata buffer"), 4, "metadata buffer");
  for (const auto& m : r.tables(model.target(6, "metadata"), "metadata")) {
    r.vector(m.target(0, "metadata name"), 1, "metadata name");
    if (m.scalar<uint32_t>(1, 0, "metadata buffer") >= buffers.size()) r.fail("a metadata buffer");
  }
  for (const auto& s : r.tables(model.target(7, "signatures"), "signatures")) {
    uint32_t graph = s.scalar<uint32_t>(4, 0, "signature subgraph");
    if (graph >= tensor_counts.size()) r.fail("a signature's subgraph");
    for (int k : {0, 1})
      for (const auto& m : r.tables(s.target(k, "signature tensors"), "signature tensors")) {
        r.vector(m.target(0, "signature tensor name"), 1, "signature tensor name");
        if (m.scalar<uint32_t>(1, 0, "signature tensor") >= tensor_counts[graph])
          r.fail("a signature's tensor index");
      }
    r.vector(s.target(2, "signature key"), 1, "signature key");
  }
}

}  // namespace kbd
