#include "core/http/request_target.hpp"

#include <gtest/gtest.h>

namespace ef::http {
namespace {

TEST(RequestTarget, DecodesPathAndQuery) {
  Request request;
  EXPECT_EQ(parse_target("/api/v1/devices/cam%2D01?state=on+line&site=plant%201&flag", request),
            std::nullopt);
  EXPECT_EQ(request.path, "/api/v1/devices/cam-01");
  EXPECT_EQ(request.query.at("state"), "on line");
  EXPECT_EQ(request.query.at("site"), "plant 1");
  EXPECT_EQ(request.query.at("flag"), "");
}

TEST(RequestTarget, PlusIsASpaceOnlyInTheQuery) {
  Request request;
  EXPECT_EQ(parse_target("/a+b?x=a+b", request), std::nullopt);
  EXPECT_EQ(request.path, "/a+b");
  EXPECT_EQ(request.query.at("x"), "a b");
}

TEST(RequestTarget, RefusesHostileTargets) {
  for (const char* hostile : {
           "",                 // empty
           "api/v1",           // not origin-form
           "http://host/api",  // absolute-form is not served
           "/a/%2e%2e/b",      // encoded dot-dot
           "/a/../b",          // dot-dot
           "/a/./b",           // dot segment
           "/a/..",            // trailing dot-dot
           "/files/a%2fb",     // encoded slash smuggled into a name
           "/a%00b",           // NUL in the path
           "/a?x=%00",         // NUL in the query
           "/a%",              // truncated escape
           "/a%4",             // truncated escape
           "/a%zz",            // not hex
           "/a?%=1",           // bad escape in a key
       }) {
    Request request;
    EXPECT_NE(parse_target(hostile, request), std::nullopt) << "accepted: " << hostile;
  }
}

TEST(RequestTarget, EmptyQueryPartsAreSkippedAndLastValueWins) {
  Request request;
  EXPECT_EQ(parse_target("/a?&&x=1&&x=2&", request), std::nullopt);
  EXPECT_EQ(request.query.size(), 1u);
  EXPECT_EQ(request.query.at("x"), "2");
}

}  // namespace
}  // namespace ef::http
