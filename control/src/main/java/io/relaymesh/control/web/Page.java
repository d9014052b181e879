package io.relaymesh.control.web;

/**
 * What a dashboard handler answers: an HTML document with a status, or a redirect.
 *
 * @param location the redirect target, or {@code null} for an HTML page
 */
record Page(int status, String html, String location) {

  static Page ok(String html) {
    return new Page(200, html, null);
  }

  static Page status(int status, String html) {
    return new Page(status, html, null);
  }

  /** {@code 302 Found}: for GET navigations. */
  static Page found(String location) {
    return new Page(302, null, location);
  }

  /** {@code 303 See Other}: after a form POST, the browser follows with a GET. */
  static Page seeOther(String location) {
    return new Page(303, null, location);
  }
}
