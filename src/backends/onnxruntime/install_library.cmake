# SPDX-License-Identifier: Apache-2.0
# cmake -DSOURCE=<library> -DDESTINATION=<folder> -P install_library.cmake: copies the library
# into the folder when it exists and differs; says what to run when it is missing (the build still
# succeeds: only ONNX models need it, and their loads say the same).
if(EXISTS "${SOURCE}")
  file(COPY "${SOURCE}" DESTINATION "${DESTINATION}")
else()
  message(STATUS "ONNX Runtime library ${SOURCE} not found: run scripts/fetch_onnxruntime.sh "
                 "(scripts/deps.sh does) to serve ONNX models with the onnxruntime backend")
endif()
