// The bundle's model.tflite on LiteRT's C API (docs/decoding.md section 4): the fixed-batch
// signatures stepB (one per decoding.batch_sizes) and advance1, inputs and outputs by name.
//
//   Model m(bundle);                        // throws kbd::Error naming what is wrong
//   m.step(1, ids, h, c, &logp, &h2, &c2);  // ids [1], h [1, P], c [1, N] -> logp [1, V] ...
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bundle.h"
#include "litert_c.h"

namespace kbd {

// Nanoseconds this process has spent in LiteRtRunCompiledModel, every Model and thread
// together (a relaxed atomic: about 20 ns a run). The replay bench
// (tools/replay_bench.cc) subtracts it from a suggestion's time: the decoder's own share.
uint64_t model_run_nanoseconds();

class Model {
 public:
  explicit Model(const Bundle& bundle);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  int embed_dim() const { return p_; }
  int units() const { return n_; }
  int vocab() const { return v_; }
  const std::vector<int>& batches() const { return batches_; }

  // One step of `batch` rows (a batch of decoding.batch_sizes): ids [B], h [B*P], c [B*N]
  // -> logp [B*V] (unless advance), h_out [B*P], c_out [B*N]. advance: the advance1
  // signature (batch 1, no output layer).
  void step(int batch, const int32_t* ids, const float* h, const float* c,
            std::vector<float>* logp, std::vector<float>* h_out, std::vector<float>* c_out);
  void advance(int32_t id, const float* h, const float* c, std::vector<float>* h_out,
               std::vector<float>* c_out);

 private:
  struct Signature;  // one signature's index and buffers
  std::unique_ptr<Signature> open_signature(const std::string& key, int batch,
                                            bool has_logprobs);
  void open();
  void release();
  void run(Signature& sig, const int32_t* ids, const float* h, const float* c,
           std::vector<float>* logp, std::vector<float>* h_out, std::vector<float>* c_out);

  std::string path_;
  int p_ = 0, n_ = 0, v_ = 0;
  std::vector<int> batches_;
  LiteRtEnvironment env_ = nullptr;
  LiteRtModel model_ = nullptr;
  LiteRtOptions options_ = nullptr;
  LiteRtCompiledModel compiled_ = nullptr;
  std::map<int, std::unique_ptr<Signature>> steps_;  // batch -> stepB
  std::unique_ptr<Signature> advance_;
};

}  // namespace kbd
