# Test registration by convention, so adding a test never needs a CMake edit:
#  - tests/unit/test_<module>.c   : a cmocka program linked with tycho_core -> ctest "unit.<module>"
#  - tests/<dir>/test_<name>.sh   : a script run with TYCHO_BIN, TYCHO_SRC, TYCHO_BUILD set
#                                   -> ctest "<dir>.<name>" (label <dir>)
#  - spec/                        : `tycho spec spec/` -> ctest "spec" (registered at the end)
tycho_require_pkg(CMOCKA cmocka libcmocka-dev)

file(GLOB TYCHO_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/test_*.c)
foreach(src ${TYCHO_UNIT_TESTS})
  get_filename_component(name ${src} NAME_WE)
  string(REGEX REPLACE "^test_" "" module ${name})
  add_executable(${name} ${src})
  target_compile_options(${name} PRIVATE -Wall -Wextra -Werror)
  target_link_libraries(${name} PRIVATE tycho_core PkgConfig::CMOCKA)
  target_link_options(${name} PRIVATE -Wl,-E)
  add_test(NAME unit.${module} COMMAND ${name} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(unit.${module} PROPERTIES LABELS unit TIMEOUT 120)
endforeach()

file(GLOB_RECURSE TYCHO_SCRIPT_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/*/test_*.sh)
foreach(script ${TYCHO_SCRIPT_TESTS})
  get_filename_component(name ${script} NAME_WE)
  get_filename_component(dir ${script} DIRECTORY)
  get_filename_component(group ${dir} NAME)
  string(REGEX REPLACE "^test_" "" tname ${name})
  add_test(NAME ${group}.${tname} COMMAND bash ${script} WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  # Each test's servers get a local-backend data directory of their own: a
  # data directory serves one tycho at a time (its lock), and tests run in
  # parallel from the same working directory (the default ./.tycho).
  set_tests_properties(${group}.${tname} PROPERTIES LABELS ${group} TIMEOUT 600
    ENVIRONMENT "TYCHO_BIN=$<TARGET_FILE:tycho>;TYCHO_SRC=${CMAKE_SOURCE_DIR};TYCHO_BUILD=${CMAKE_BINARY_DIR};TYCHO_SANITIZE=${TYCHO_SANITIZE};TYCHO_DATA_DIR=${CMAKE_BINARY_DIR}/test-data/${group}.${tname}")
endforeach()

#  - tests/tools/<name>.c        : a helper program linked with tycho_core, not a test by itself;
#                                   built as ${CMAKE_BINARY_DIR}/tools/<name> for scripts to drive
file(GLOB TYCHO_TEST_TOOLS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/tools/*.c)
foreach(src ${TYCHO_TEST_TOOLS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(tool_${name} ${src})
  set_target_properties(tool_${name} PROPERTIES OUTPUT_NAME ${name} RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tools)
  target_compile_options(tool_${name} PRIVATE -Wall -Wextra -Werror)
  target_link_libraries(tool_${name} PRIVATE tycho_core)
  target_link_options(tool_${name} PRIVATE -Wl,-E)
  add_dependencies(tycho tool_${name})
endforeach()

# The busted specs of every Lua module and route file, inside the tycho runtime.
add_test(NAME spec COMMAND tycho spec spec/ WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
# the local AWS backend's SQLite file of the spec run lives in the build dir
set_tests_properties(spec PROPERTIES LABELS spec TIMEOUT 600
  ENVIRONMENT "TYCHO_DATA_DIR=${CMAKE_BINARY_DIR}/spec-data")
