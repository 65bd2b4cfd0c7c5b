// Loaded only by browsers without ES modules (a very old WeChat): say so instead of a
// page that never loads. A file, not an inline script: the pages' CSP allows no inline.
document.getElementById('app').innerHTML =
  '<p class="boot-msg">当前浏览器版本过低，请升级微信或使用新版浏览器打开</p>';
