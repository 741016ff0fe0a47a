# Installs the built minidl into WORK_DIR/prefix, then configures, builds and runs the consumer
# project against it with find_package(minidl CONFIG REQUIRED). Any failing step fails the test.
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
# The package must not carry paths of the machine it was built on: not the build or source tree,
# not where its dependencies were found (the consumer's machine finds its own).
file(GLOB package_files ${WORK_DIR}/prefix/lib*/cmake/minidl/*.cmake)
foreach(f ${package_files})
  file(READ ${f} text)
  foreach(path ${BUILD_DIR} ${SOURCE_DIR} ${WORK_DIR} /usr/lib /usr/local/cuda)
    string(FIND "${text}" "${path}" at)
    if(NOT at EQUAL -1)
      message(FATAL_ERROR "${f} contains the absolute path ${path} of the machine it was built on")
    endif()
  endforeach()
endforeach()
run(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/build -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release -DEXAMPLES_DIR=${SOURCE_DIR}/examples)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)
run(${WORK_DIR}/build/consumer_optimizer_test)
run(${WORK_DIR}/build/consumer_examples)
