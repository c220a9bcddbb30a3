// Checks that a .tflite file is a whole TFLite flatbuffer before LiteRT reads it: LiteRT 2.3's
// LiteRtCreateModelFromFile does not verify the flatbuffer and crashes on a cut or damaged
// file. Every table, vector and string the model, its subgraphs, tensors, operators, buffers
// and signatures point to must lie inside the file, and tensors, operators and signatures
// must name buffers, operator codes and tensors that exist (tflite/converter/schema/schema.fbs
// in LiteRT's repository: the field numbers below are that schema's).
//
//   check_tflite("dist/bundle/model.tflite");   // throws kbd::Error naming the problem
#pragma once

#include <string>

namespace kbd {

void check_tflite(const std::string& path);

}  // namespace kbd
