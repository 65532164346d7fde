// The dashboard: GET / answers web/index.html, /assets/app.js and /assets/app.css the bundle, all
// from the files embedded at build time (api/web_assets.h), so the page works offline; and GET
// /api/v1/latest, the newest value of every device from live state, which draws its floor plan.
#include <string>
#include <string_view>

#include "api/routes.h"
#include "api/web_assets.h"
#include "core/time.h"

namespace dcmon::api {
namespace {

std::string_view ContentType(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  return "text/css; charset=utf-8";
}

}  // namespace

void WebAsset(Api::Context&, HttpRequest& req, Respond& respond) {
  const std::string_view path = req.path;
  const std::string_view name =
      path == "/" ? std::string_view("index.html") : path.substr(path.rfind('/') + 1);
  for (size_t i = 0; i < kWebAssetsCount; ++i) {
    if (kWebAssets[i].name != name) continue;
    HttpResponse r{.content_type = std::string(ContentType(name)),
                   .body = std::string(kWebAssets[i].content)};
    return respond(std::move(r));
  }
  respond(Problem(404, "not found", "the dashboard has no file " + std::string(path)));
}

void Latest(Api::Context& ctx, HttpRequest& req, Respond& respond) {
  respond(Json(ctx.parts.live->Latest(req.Param("room").value_or(""), NowMicros())));
}

}  // namespace dcmon::api
