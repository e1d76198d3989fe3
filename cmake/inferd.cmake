# SPDX-License-Identifier: Apache-2.0
# Helpers shared by the component CMakeLists.

# inferd_library(NAME SOURCES ... DEPS ...): one static library per component folder.
function(inferd_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE inferd_warnings)
endfunction()

# inferd_test(NAME SOURCES ... DEPS ...): a GoogleTest binary registered with CTest.
function(inferd_test name)
  if(NOT INFERD_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main inferd_warnings)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)
endfunction()
