# Shared build settings and the helpers every folder uses.
option(EF_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(EF_FUZZ "Build the libFuzzer targets only (needs clang)" OFF)

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

include(EdgefleetLayers)
# A name in target_link_libraries must be a target: a package a folder forgot to find fails the
# configure step instead of silently becoming "-lname".
set(CMAKE_LINK_LIBRARIES_ONLY_TARGETS ON)

set(EF_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers)

if(EF_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
if(EF_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# ef_library(NAME SOURCES ... DEPS ...): one static library per concern under src/<layer>/; its
# layer is that folder (see EdgefleetLayers.cmake).
function(ef_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  ef_layer_of_folder(${CMAKE_CURRENT_SOURCE_DIR} layer)
  if(NOT layer)
    message(FATAL_ERROR "${name}: a library lives under src/<layer>/ (one of ${EF_LAYERS})")
  endif()
  add_library(${name} STATIC ${ARG_SOURCES})
  ef_set_layer(${name} ${layer})
  add_library(ef::${name} ALIAS ${name})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${name} PRIVATE ${EF_WARNINGS})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# ef_program(NAME LAYER layer SOURCES ... DEPS ...): a thin main that wires libraries together.
# LAYER may be left out under bench/<layer>/, where the folder says it.
function(ef_program name)
  cmake_parse_arguments(ARG "" "LAYER" "SOURCES;DEPS" ${ARGN})
  if(NOT ARG_LAYER)
    ef_layer_of_folder(${CMAKE_CURRENT_SOURCE_DIR} ARG_LAYER)
  endif()
  if(NOT ARG_LAYER)
    message(FATAL_ERROR "${name}: ef_program needs LAYER (one of ${EF_LAYERS})")
  endif()
  add_executable(${name} ${ARG_SOURCES})
  ef_set_layer(${name} ${ARG_LAYER})
  target_compile_options(${name} PRIVATE ${EF_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
endfunction()

# ef_test(NAME SOURCES ... DEPS ... [LABELS ...] [STORE_BACKENDS]): a GoogleTest executable, each
# test a ctest case. Unit tests carry the label "unit" and run again under the sanitizers.
# STORE_BACKENDS: the tests use a Store (test::StoreTest, store_test) and run once on SQLite and
# once more on PostgreSQL (EF_TEST_DATABASE=postgresql, names ending in .postgresql), on a
# throwaway cluster each test process starts (tests/support/postgres_cluster). Those carry the one
# label "postgresql" (gtest_discover_tests passes a label list on unquoted, splitting it), so the
# sanitizer run (-L unit) leaves them out.
function(ef_test name)
  cmake_parse_arguments(ARG "SERIAL;STORE_BACKENDS" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  # Tests under tests/<layer>/ keep that layer's rule; tests/system/ may start every program.
  ef_layer_of_folder(${CMAKE_CURRENT_SOURCE_DIR} layer)
  if(layer)
    ef_set_layer(${name} ${layer})
  endif()
  target_compile_options(${name} PRIVATE ${EF_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  target_compile_definitions(${name} PRIVATE
    EF_SOURCE_DIR="${PROJECT_SOURCE_DIR}" EF_BINARY_DIR="${PROJECT_BINARY_DIR}")
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if("unit" IN_LIST ARG_LABELS)
    add_dependencies(unit_tests ${name})
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  # SERIAL: the test measures timing-sensitive behaviour (frames dropped) and runs alone.
  set(serial FALSE)
  if(ARG_SERIAL)
    set(serial TRUE)
  endif()
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    RUN_SERIAL ${serial} DISCOVERY_TIMEOUT 60)
  if(ARG_STORE_BACKENDS)
    gtest_discover_tests(${name} TEST_SUFFIX .postgresql
      PROPERTIES LABELS postgresql TIMEOUT ${ARG_TIMEOUT} RUN_SERIAL ${serial}
                 ENVIRONMENT EF_TEST_DATABASE=postgresql DISCOVERY_TIMEOUT 60)
  endif()
endfunction()
include(GoogleTest)
# `ninja unit_tests` builds just the unit tests (what the sanitizer build runs).
add_custom_target(unit_tests)

# Adds every subfolder of dir that has a CMakeLists.txt, in sorted order; a folder without one
# (src/core, tests/server, ...) is a grouping and is searched in turn.
function(ef_add_subdirectories dir)
  file(GLOB children LIST_DIRECTORIES true RELATIVE ${PROJECT_SOURCE_DIR}/${dir} ${PROJECT_SOURCE_DIR}/${dir}/*)
  list(SORT children)
  foreach(child ${children})
    if(EXISTS ${PROJECT_SOURCE_DIR}/${dir}/${child}/CMakeLists.txt)
      add_subdirectory(${dir}/${child})
    elseif(IS_DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/${child})
      ef_add_subdirectories(${dir}/${child})
    endif()
  endforeach()
endfunction()
