# -DTYCHO_FUZZ=ON adds `make fuzz`: builds every libFuzzer target with clang and
# runs it (tests/fuzz/test_fuzz_*.sh; FUZZ_SECONDS per target). ctest runs the
# same scripts as fuzz.<name>.
file(GLOB TYCHO_FUZZ_SCRIPTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/test_fuzz_*.sh)
set(TYCHO_FUZZ_COMMANDS "")
foreach(script ${TYCHO_FUZZ_SCRIPTS})
  list(APPEND TYCHO_FUZZ_COMMANDS COMMAND ${CMAKE_COMMAND} -E env TYCHO_SRC=${CMAKE_SOURCE_DIR}
       TYCHO_BUILD=${CMAKE_BINARY_DIR} bash ${script})
endforeach()
add_custom_target(fuzz ${TYCHO_FUZZ_COMMANDS} USES_TERMINAL)
