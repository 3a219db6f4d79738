# Shared build rules: warnings, sanitizers, one helper per kind of target.
# -Wmismatched-new-delete: GCC 12 false positive on Asio coroutine frames (operator delete with size).
set(KHA_WARNINGS -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor -Wno-mismatched-new-delete)
if(KHA_WERROR)
  list(APPEND KHA_WARNINGS -Werror)
endif()
if(KHA_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(KHA_TSAN)
  # GCC 12 warns that TSan does not model std::atomic_thread_fence: Asio's and spdlog's
  # use of it is not ours to change.
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -Wno-tsan)
  add_link_options(-fsanitize=thread)
endif()

# kha_add_library(NAME [PURE] SOURCES a.cc b.cc DEPENDS lib...)
# A module library; modules register themselves so the kha binary links them all. Its
# files may include only its own and its DEPENDS' headers; PURE: no Asio, OpenSSL or
# sockets either (cmake/KhaLayering.cmake checks both at configure time).
function(kha_add_library name)
  cmake_parse_arguments(ARG "PURE" "" "SOURCES;DEPENDS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  get_filename_component(module_dir ${CMAKE_CURRENT_SOURCE_DIR} NAME)
  set_target_properties(${name} PROPERTIES KHA_MODULE_DIR ${module_dir} KHA_PURE ${ARG_PURE})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(${name} PRIVATE ${KHA_WARNINGS})
  target_link_libraries(${name} PUBLIC ${ARG_DEPENDS})
  set_property(GLOBAL APPEND PROPERTY KHA_MODULE_LIBS ${name})
endfunction()

# kha_add_test(NAME SOURCES a_test.cc DEPENDS lib... LABELS unit)
function(kha_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${KHA_WARNINGS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${name} PRIVATE ${ARG_DEPENDS} GTest::gtest GTest::gtest_main)
  include(GoogleTest)
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" DISCOVERY_TIMEOUT 60)
endfunction()

# kha_add_py_test(NAME SCRIPT file.py LABELS integration [TIMEOUT s])
# End-to-end scenarios driven by Python's standard library against the real kha binary.
# A file whose tests were all skipped (a peer or privilege missing) reports "Skipped".
function(kha_add_py_test name)
  cmake_parse_arguments(ARG "" "SCRIPT;TIMEOUT" "LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_test(NAME ${name}
    COMMAND ${KHA_PYTHON} support/run_unittest.py ${ARG_SCRIPT}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/tests)
  set_tests_properties(${name} PROPERTIES
    LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    SKIP_RETURN_CODE 77  # every test in the file skipped (support/run_unittest.py)
    ENVIRONMENT "KHA_BIN=$<TARGET_FILE:kha>;KHA_SOURCE_DIR=${PROJECT_SOURCE_DIR};KHA_SANITIZED=$<OR:$<BOOL:${KHA_SANITIZE}>,$<BOOL:${KHA_TSAN}>>;PYTHONDONTWRITEBYTECODE=1")
endfunction()
