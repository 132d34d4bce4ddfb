# -DTYCHO_FUZZ=ON adds `make fuzz`: builds the libFuzzer targets with clang and
# runs them (FUZZ_SECONDS, default 60). ctest runs the same script as fuzz.http.
add_custom_target(fuzz
  COMMAND ${CMAKE_COMMAND} -E env TYCHO_SRC=${CMAKE_SOURCE_DIR} TYCHO_BUILD=${CMAKE_BINARY_DIR}
          bash ${CMAKE_SOURCE_DIR}/tests/fuzz/test_fuzz_http.sh
  USES_TERMINAL)
