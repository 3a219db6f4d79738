# Packaging: man pages, systemd units, the default config and the Debian package.
#
# Man pages are generated at build time so that they cannot drift:
#   kha(1), kha-proxy(1), kha-plan(1)  from the binary's own --help (help2man, packaging/man/make_man.sh)
#   kha.yaml(5)                        from docs/config.md (the config reference) when present, else
#                                      from the comments of packaging/kha.yaml, the annotated file
#                                      installed as /etc/kha/kha.yaml (packaging/man/conf2man.py); a test
#                                      checks that every field of src/config/schema.h is on the page.
# `cmake --build build --target package` writes build/kha_<version>-1_<arch>.deb (CPack DEB):
#   /usr/bin/kha, /lib/systemd/system/kha-{proxy,vip}.service, /etc/kha/kha.yaml (conffile),
#   /usr/share/man/man{1,5}, /usr/share/doc/kha; postinst creates the kha user, starts nothing.

set(KHA_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging)
set(KHA_MAN_DIR ${CMAKE_BINARY_DIR}/man)
set(KHA_PACKAGE_MAINTAINER "kha maintainers <maintainers@kha.invalid>")
file(MAKE_DIRECTORY ${KHA_MAN_DIR})

find_program(KHA_HELP2MAN help2man)
find_program(KHA_GZIP gzip REQUIRED)
# Optional, as help2man: a build of `kha` alone (scripts/demo.sh on a fresh machine)
# needs neither; scripts/deps.sh installs both for the package and the tests.
find_program(KHA_PYTHON NAMES python3)
# Missing tools only matter to a package build: a build of `kha` alone (KHA_BUILD_TESTS=OFF,
# scripts/demo.sh) says so quietly.
set(KHA_MISSING_TOOL WARNING)
if(NOT KHA_BUILD_TESTS)
  set(KHA_MISSING_TOOL STATUS)
endif()

# kha_man_page(PAGE SUBCOMMAND NAME): PAGE.1.gz from `kha SUBCOMMAND --help`.
set(KHA_MAN1_PAGES)
function(kha_man_page page subcommand name)
  set(out ${KHA_MAN_DIR}/${page}.1.gz)
  set(include ${KHA_PACKAGING_DIR}/man/${page}.h2m)
  add_custom_command(OUTPUT ${out}
    COMMAND sh ${KHA_PACKAGING_DIR}/man/make_man.sh $<TARGET_FILE:kha> "${subcommand}" ${page} "${name}"
            ${PROJECT_VERSION} ${include} ${out}
    DEPENDS kha ${include} ${KHA_PACKAGING_DIR}/man/make_man.sh
    COMMENT "Generating ${page}(1) from kha ${subcommand} --help"
    VERBATIM)
  set(KHA_MAN1_PAGES ${KHA_MAN1_PAGES} ${out} PARENT_SCOPE)
endfunction()

if(KHA_HELP2MAN)
  kha_man_page(kha "" "highly available Kubernetes API endpoints for every node")
  kha_man_page(kha-proxy proxy "node-local load balancer for the Kubernetes API and etcd")
  kha_man_page(kha-plan plan "evaluate a Kubespray inventory's API endpoints and render configs")
else()
  message(${KHA_MISSING_TOOL} "help2man not found (scripts/deps.sh installs it): kha(1), kha-proxy(1) and kha-plan(1) are not built")
endif()

# kha.yaml(5): docs/config.md (the config reference) when it exists, else the comments of
# packaging/kha.yaml; the EXAMPLE section is packaging/kha.yaml either way.
set(KHA_MAN5_PAGE ${KHA_MAN_DIR}/kha.yaml.5.gz)
set(KHA_CONFIG_DOC ${PROJECT_SOURCE_DIR}/docs/config.md)
set(KHA_CONFIG_DOC_ARGS)
set(KHA_CONFIG_DOC_DEP)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs)
if(EXISTS ${KHA_CONFIG_DOC})
  set(KHA_CONFIG_DOC_ARGS --markdown ${KHA_CONFIG_DOC})
  set(KHA_CONFIG_DOC_DEP ${KHA_CONFIG_DOC})
endif()
if(KHA_PYTHON)
  add_custom_command(OUTPUT ${KHA_MAN5_PAGE}
    COMMAND ${KHA_PYTHON} ${KHA_PACKAGING_DIR}/man/conf2man.py ${KHA_CONFIG_DOC_ARGS} ${KHA_PACKAGING_DIR}/kha.yaml
            ${PROJECT_VERSION} ${KHA_MAN_DIR}/kha.yaml.5
    COMMAND ${KHA_GZIP} -9nf ${KHA_MAN_DIR}/kha.yaml.5
    DEPENDS ${KHA_PACKAGING_DIR}/kha.yaml ${KHA_PACKAGING_DIR}/man/conf2man.py ${KHA_CONFIG_DOC_DEP}
    COMMENT "Generating kha.yaml(5)"
    VERBATIM)
else()
  message(${KHA_MISSING_TOOL} "python3 not found (scripts/deps.sh installs it): kha.yaml(5) is not built")
  set(KHA_MAN5_PAGE)
endif()

# Debian wants the changelog in every binary package, compressed.
string(TIMESTAMP KHA_CHANGELOG_DATE "%a, %d %b %Y 00:00:00 +0000" UTC)
string(CONCAT KHA_CHANGELOG
  "kha (${PROJECT_VERSION}-1) unstable; urgency=medium\n\n"
  "  * Built from the kha source tree.\n\n"
  " -- ${KHA_PACKAGE_MAINTAINER}  ${KHA_CHANGELOG_DATE}\n")
# Written only when it changes (once a day at most), so a reconfigure rebuilds nothing.
file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/changelog.Debian CONTENT "${KHA_CHANGELOG}" @ONLY)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/changelog.Debian.gz
  COMMAND ${KHA_GZIP} -9nkf ${CMAKE_BINARY_DIR}/changelog.Debian
  DEPENDS ${CMAKE_BINARY_DIR}/changelog.Debian
  VERBATIM)

add_custom_target(kha_man ALL DEPENDS ${KHA_MAN1_PAGES} ${KHA_MAN5_PAGE} ${CMAKE_BINARY_DIR}/changelog.Debian.gz)

install(FILES ${KHA_MAN1_PAGES} DESTINATION share/man/man1)
install(FILES ${KHA_MAN5_PAGE} DESTINATION share/man/man5)
install(FILES ${KHA_PACKAGING_DIR}/systemd/kha-proxy.service ${KHA_PACKAGING_DIR}/systemd/kha-vip.service
        DESTINATION /lib/systemd/system)
install(FILES ${KHA_PACKAGING_DIR}/kha.yaml DESTINATION /etc/kha)
install(FILES ${KHA_PACKAGING_DIR}/debian/copyright ${CMAKE_BINARY_DIR}/changelog.Debian.gz
        DESTINATION share/doc/kha)
install(FILES ${KHA_PACKAGING_DIR}/debian/lintian-overrides DESTINATION share/lintian/overrides RENAME kha)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME kha)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CONTACT ${KHA_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${KHA_PACKAGE_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS adduser)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "highly available Kubernetes API endpoints for every node")
# CPack puts the summary on the Description: line; this is the extended description.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "kha is one small binary for the HA endpoints of a Kubernetes cluster: a
node-local L4 load balancer for kube-apiserver and etcd (kha proxy) with
active TCP, TLS and HTTPS /readyz checks and hedged connects; an endpoint
planner for Kubespray inventories (kha plan); and a VRRPv3 virtual IP,
interoperable with keepalived (kha vip).
.
The package installs the systemd units kha-proxy.service and kha-vip.service
without enabling or starting them, and a node-local example configuration in
/etc/kha/kha.yaml.")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${KHA_PACKAGING_DIR}/debian/conffiles
  ${KHA_PACKAGING_DIR}/debian/postinst
  ${KHA_PACKAGING_DIR}/debian/prerm
  ${KHA_PACKAGING_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
