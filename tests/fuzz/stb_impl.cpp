// stb_image and stb_image_resize compiled from source with the fuzzer's instrumentation; these
// definitions take precedence over Debian's uninstrumented libstb.so at link time.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb_image.h>
#include <stb_image_resize.h>
