cmake_minimum_required(VERSION 3.25)
# cmake -DKHA_SOURCE_DIR=... -P layering_test.cmake: the layering check of
# cmake/KhaLayering.cmake finds what it must (and nothing else) in sample files.
include(${KHA_SOURCE_DIR}/cmake/KhaLayering.cmake)

function(expect_count text allowed pure want what)
  kha_layering_violations(found "sample.cc" "${text}" "${allowed}" "${pure}")
  list(LENGTH found n)
  if(NOT n EQUAL want)
    message(FATAL_ERROR "${what}: expected ${want} violation(s), got ${n}: ${found}")
  endif()
endfunction()

set(nl "\n")
expect_count("#include \"config/schema.h\"${nl}#include \"common/log.h\"${nl}" "config;common" TRUE 0
             "own and declared modules")
expect_count("#include \"config/schema.h\"${nl}#include \"daemon/proxy_server.h\"${nl}" "config;common" FALSE 1
             "an undeclared module")
expect_count("#include <asio.hpp>${nl}#include <openssl/ssl.h>${nl}#include <sys/socket.h>${nl}" "pool" TRUE 3
             "I/O headers in a pure module")
expect_count("#include <asio.hpp>${nl}" "proxy" FALSE 0 "I/O headers in an I/O module")
expect_count("#include <arpa/inet.h>${nl}#include <vector>${nl}// #include \"daemon/x.h\"${nl}" "pool" TRUE 0
             "address conversion, the standard library and a commented-out include")
kha_layering_violations(found "src/pool/x.cc" "int a;${nl}#include \"proxy/hub.h\"${nl}" "pool;config" FALSE)
if(NOT found MATCHES "^src/pool/x.cc:2: includes proxy/")
  message(FATAL_ERROR "the violation must name file and line, got: ${found}")
endif()
message(STATUS "layering check: ok")
