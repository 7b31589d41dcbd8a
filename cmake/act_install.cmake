# Installs the headers, the exported targets act::act and act::act_compiled and a relocatable actConfig.cmake.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(ACT_CMAKE_DIR ${CMAKE_INSTALL_DATADIR}/cmake/act)

install(TARGETS act EXPORT actTargets FILE_SET HEADERS DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/act/llama DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/act)  # needs llama.h, not in the file set
install(TARGETS act_compiled EXPORT actTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT actTargets NAMESPACE act:: DESTINATION ${ACT_CMAKE_DIR})
export(EXPORT actTargets NAMESPACE act:: FILE ${PROJECT_BINARY_DIR}/actTargets.cmake)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/actConfig.cmake.in
  ${PROJECT_BINARY_DIR}/actConfig.cmake INSTALL_DESTINATION ${ACT_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/actConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/actConfig.cmake ${PROJECT_BINARY_DIR}/actConfigVersion.cmake
  DESTINATION ${ACT_CMAKE_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/act)
