// The shared library holds the core whole (linked with --whole-archive); this file gives
// CMake a source of its own for it.
