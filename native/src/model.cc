#include "model.h"

#include <atomic>
#include <chrono>
#include <cstring>

#include "error.h"
#include "tflite_check.h"

namespace kbd {

namespace {

// Names of LiteRtStatus values (litert/c/litert_common.h; the 2.3.0 library exports no
// LiteRtGetStatusString).
const char* status_name(int status) {
  switch (status) {
    case 1: return "invalid argument";
    case 2: return "memory allocation failure";
    case 3: return "runtime failure";
    case 4: return "missing input tensor";
    case 5: return "unsupported";
    case 6: return "not found";
    case 8: return "wrong version";
    case 500: return "file I/O";
    case 501: return "invalid flatbuffer";
    case 504: return "compilation";
    case 1000: return "index out of bounds";
    default: return "see litert/c/litert_common.h";
  }
}

// A LiteRT call's status as an error naming the call and the model file.
void check(LiteRtStatus status, const char* call, const std::string& path) {
  if (status == kLiteRtStatusOk) return;
  throw Error(KBD_LM_ERR_RUNTIME, path + ": LiteRT " + call + " failed: status " +
                                      std::to_string(static_cast<int>(status)) + " (" +
                                      status_name(static_cast<int>(status)) + ")");
}

std::atomic<uint64_t> run_ns{0};  // model_run_nanoseconds()

}  // namespace

uint64_t model_run_nanoseconds() { return run_ns.load(std::memory_order_relaxed); }

// Inputs ids, h, c and outputs logprobs (not for advance), h_out, c_out, in the signature's
// own positional order (which differs between runtimes: always found by name).
struct Model::Signature {
  LiteRtParamIndex index = 0;
  int batch = 0;
  std::vector<LiteRtTensorBuffer> inputs, outputs;
  int in_ids = -1, in_h = -1, in_c = -1, out_logp = -1, out_h = -1, out_c = -1;
  ~Signature() {
    for (auto b : inputs) LiteRtDestroyTensorBuffer(b);
    for (auto b : outputs) LiteRtDestroyTensorBuffer(b);
  }
};

Model::Model(const Bundle& bundle)
    : path_(bundle.path_of("model")),
      p_(bundle.embed_dim),
      n_(bundle.units),
      v_(bundle.vocab_size),
      batches_(bundle.decoding.batch_sizes) {
  try {
    open();
  } catch (...) {
    release();  // a constructor that throws runs no destructor
    throw;
  }
}

void Model::open() {
  check_tflite(path_);  // LiteRT itself does not verify the flatbuffer
  check(LiteRtCreateEnvironment(0, nullptr, &env_), "CreateEnvironment", path_);
  check(LiteRtCreateModelFromFile(env_, path_.c_str(), &model_), "CreateModelFromFile", path_);
  check(LiteRtCreateOptions(&options_), "CreateOptions", path_);
  check(LiteRtSetOptionsHardwareAccelerators(options_, kLiteRtHwAcceleratorCpu),
        "SetOptionsHardwareAccelerators", path_);
  check(LiteRtCreateCompiledModel(env_, model_, options_, &compiled_), "CreateCompiledModel",
        path_);
  for (int b : batches_) steps_[b] = open_signature("step" + std::to_string(b), b, true);
  advance_ = open_signature("advance1", 1, false);
}

Model::~Model() { release(); }

void Model::release() {
  steps_.clear();
  advance_.reset();
  if (compiled_) LiteRtDestroyCompiledModel(compiled_);
  if (options_) LiteRtDestroyOptions(options_);
  if (model_) LiteRtDestroyModel(model_);
  if (env_) LiteRtDestroyEnvironment(env_);
  compiled_ = nullptr, options_ = nullptr, model_ = nullptr, env_ = nullptr;
}

std::unique_ptr<Model::Signature> Model::open_signature(const std::string& key, int batch, bool has_logprobs) {
  LiteRtParamIndex count = 0;
  check(LiteRtGetNumModelSignatures(model_, &count), "GetNumModelSignatures", path_);
  LiteRtSignature signature = nullptr;
  auto sig = std::make_unique<Signature>();
  for (LiteRtParamIndex i = 0; i < count && !signature; i++) {
    LiteRtSignature s;
    const char* name = nullptr;
    check(LiteRtGetModelSignature(model_, i, &s), "GetModelSignature", path_);
    check(LiteRtGetSignatureKey(s, &name), "GetSignatureKey", path_);
    if (name && key == name) signature = s, sig->index = i;
  }
  if (!signature) throw bundle_error(path_ + ": no signature '" + key + "'");
  sig->batch = batch;
  // name -> (expected element type, expected shape)
  struct Want {
    const char* name;
    LiteRtElementType type;
    std::vector<int> shape;
    int* slot;
  };
  std::vector<Want> inputs = {{"ids", kLiteRtElementTypeInt32, {batch}, &sig->in_ids},
                              {"h", kLiteRtElementTypeFloat32, {batch, p_}, &sig->in_h},
                              {"c", kLiteRtElementTypeFloat32, {batch, n_}, &sig->in_c}};
  std::vector<Want> outputs = {{"h_out", kLiteRtElementTypeFloat32, {batch, p_}, &sig->out_h},
                               {"c_out", kLiteRtElementTypeFloat32, {batch, n_}, &sig->out_c}};
  if (has_logprobs)
    outputs.push_back({"logprobs", kLiteRtElementTypeFloat32, {batch, v_}, &sig->out_logp});
  for (int is_output = 0; is_output < 2; is_output++) {
    auto& wants = is_output ? outputs : inputs;
    LiteRtParamIndex num = 0;
    check(is_output ? LiteRtGetNumSignatureOutputs(signature, &num)
                    : LiteRtGetNumSignatureInputs(signature, &num),
          "GetNumSignatureInputs/Outputs", path_);
    if (num != wants.size())
      throw bundle_error(path_ + ": signature '" + key + "' has " + std::to_string(num) +
                         (is_output ? " outputs" : " inputs") + ", expected " +
                         std::to_string(wants.size()));
    for (LiteRtParamIndex i = 0; i < num; i++) {
      const char* name = nullptr;
      LiteRtTensor tensor = nullptr;
      LiteRtRankedTensorType type;
      LiteRtTensorBufferRequirements req = nullptr;
      LiteRtTensorBuffer buffer = nullptr;
      if (is_output) {
        check(LiteRtGetSignatureOutputName(signature, i, &name), "GetSignatureOutputName", path_);
        check(LiteRtGetSignatureOutputTensorByIndex(signature, i, &tensor),
              "GetSignatureOutputTensorByIndex", path_);
      } else {
        check(LiteRtGetSignatureInputName(signature, i, &name), "GetSignatureInputName", path_);
        check(LiteRtGetSignatureInputTensorByIndex(signature, i, &tensor),
              "GetSignatureInputTensorByIndex", path_);
      }
      check(LiteRtGetRankedTensorType(tensor, &type), "GetRankedTensorType", path_);
      const Want* want = nullptr;
      for (const auto& w : wants)
        if (name && std::strcmp(w.name, name) == 0) want = &w;
      std::string where = path_ + ": signature '" + key + "' tensor '" + (name ? name : "?") + "'";
      if (!want) throw bundle_error(where + ": unexpected name");
      bool same = type.element_type == want->type && type.layout.rank == want->shape.size();
      for (size_t d = 0; same && d < want->shape.size(); d++)
        same = type.layout.dimensions[d] == want->shape[d];
      if (!same)
        throw bundle_error(where + ": element type " + std::to_string(type.element_type) +
                           " rank " + std::to_string(type.layout.rank) +
                           ", not the shape the manifest's model section gives");
      if (is_output)
        check(LiteRtGetCompiledModelOutputBufferRequirements(compiled_, sig->index, i, &req),
              "GetCompiledModelOutputBufferRequirements", path_);
      else
        check(LiteRtGetCompiledModelInputBufferRequirements(compiled_, sig->index, i, &req),
              "GetCompiledModelInputBufferRequirements", path_);
      check(LiteRtCreateManagedTensorBufferFromRequirements(env_, &type, req, &buffer),
            "CreateManagedTensorBufferFromRequirements", path_);
      auto& list = is_output ? sig->outputs : sig->inputs;
      *want->slot = static_cast<int>(list.size());
      list.push_back(buffer);
      size_t packed = 0, elements = 1;
      for (int d : want->shape) elements *= static_cast<size_t>(d);
      check(LiteRtGetTensorBufferPackedSize(buffer, &packed), "GetTensorBufferPackedSize", path_);
      if (packed != elements * 4)
        throw bundle_error(where + ": buffer of " + std::to_string(packed) + " bytes, expected " +
                           std::to_string(elements * 4));
    }
  }
  return sig;
}

namespace {

void write(LiteRtTensorBuffer buffer, const void* data, size_t bytes, const std::string& path) {
  void* host = nullptr;
  check(LiteRtLockTensorBuffer(buffer, &host, kLiteRtTensorBufferLockModeWrite), "Lock", path);
  std::memcpy(host, data, bytes);
  check(LiteRtUnlockTensorBuffer(buffer), "Unlock", path);
}

void read(LiteRtTensorBuffer buffer, std::vector<float>* out, size_t count,
          const std::string& path) {
  void* host = nullptr;
  check(LiteRtLockTensorBuffer(buffer, &host, kLiteRtTensorBufferLockModeRead), "Lock", path);
  const float* f = static_cast<const float*>(host);
  out->assign(f, f + count);
  check(LiteRtUnlockTensorBuffer(buffer), "Unlock", path);
}

}  // namespace

void Model::run(Signature& sig, const int32_t* ids, const float* h, const float* c,
                std::vector<float>* logp, std::vector<float>* h_out, std::vector<float>* c_out) {
  const size_t b = static_cast<size_t>(sig.batch);
  write(sig.inputs[sig.in_ids], ids, b * 4, path_);
  write(sig.inputs[sig.in_h], h, b * p_ * 4, path_);
  write(sig.inputs[sig.in_c], c, b * n_ * 4, path_);
  const auto started = std::chrono::steady_clock::now();
  const LiteRtStatus status = LiteRtRunCompiledModel(
      compiled_, sig.index, sig.inputs.size(), sig.inputs.data(), sig.outputs.size(),
      sig.outputs.data());
  run_ns.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::steady_clock::now() - started)
                       .count(),
                   std::memory_order_relaxed);
  check(status, "RunCompiledModel", path_);
  if (logp) read(sig.outputs[sig.out_logp], logp, b * v_, path_);
  read(sig.outputs[sig.out_h], h_out, b * p_, path_);
  read(sig.outputs[sig.out_c], c_out, b * n_, path_);
}

void Model::step(int batch, const int32_t* ids, const float* h, const float* c,
                 std::vector<float>* logp, std::vector<float>* h_out,
                 std::vector<float>* c_out) {
  auto it = steps_.find(batch);
  if (it == steps_.end())
    throw Error(KBD_LM_ERR_INTERNAL, "no step signature of batch " + std::to_string(batch));
  run(*it->second, ids, h, c, logp, h_out, c_out);
}

void Model::advance(int32_t id, const float* h, const float* c, std::vector<float>* h_out,
                    std::vector<float>* c_out) {
  run(*advance_, &id, h, c, nullptr, h_out, c_out);
}

}  // namespace kbd
