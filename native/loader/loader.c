// Opens shared libraries by absolute path with RTLD_GLOBAL before the main addon is required,
// so the addon's NEEDED entries bind to the LibTorch that was found, not whatever the system has.
#include <dlfcn.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>

static napi_value Preload(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[4096];
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "preload(path): path must be a string");
    return NULL;
  }
  if (dlopen(path, RTLD_NOW | RTLD_GLOBAL) == NULL) {
    const char* why = dlerror();
    napi_throw_error(env, "ERR_NODE_PEFT_PRELOAD", why ? why : "dlopen failed");
    return NULL;
  }
  napi_value result;
  napi_get_boolean(env, true, &result);
  return result;
}

// Is a library with this file name already mapped in the process? (Two LibTorch copies must not mix.)
static napi_value Loaded(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char name[1024];
  size_t len = 0;
  napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len);
  void* handle = dlopen(name, RTLD_NOW | RTLD_NOLOAD);
  napi_value result;
  napi_get_boolean(env, handle != NULL, &result);
  if (handle) dlclose(handle);
  return result;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"preload", NULL, Preload, NULL, NULL, NULL, napi_default, NULL},
      {"loaded", NULL, Loaded, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 2, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
