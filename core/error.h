// minidl::Error and check(): defined in kernels/error.h, the bottom module, so that backends throw
// the same exception (see there). Code above kernels/ includes this header.
#pragma once

#include <minidl/kernels/error.h>
