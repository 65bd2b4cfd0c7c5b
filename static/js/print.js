// 打印证书: the toolbar's button opens the browser's print dialog (a file, not an inline
// onclick: the pages' CSP allows no inline script), and the A4 sheet is scaled to fit the
// width on screen (--scale, read by static/css/certificate-print.css; print ignores it).
const stage = document.querySelector('.stage');
const sheet = document.querySelector('.sheet');

function fit() {
  const margin = 16;
  const available = document.documentElement.clientWidth - margin;
  const scale = Math.min(1, available / sheet.offsetWidth);
  stage.style.setProperty('--scale', String(Math.max(scale, 0.1)));
  stage.dataset.fitted = 'true';
}

// WeChat's own browser does not print (the notice: 目前仅支持 PC 网页端打印证书): say where to.
const inWeChat = /MicroMessenger/i.test(navigator.userAgent);
const wechatNote = document.getElementById('wechat-print');
if (inWeChat) wechatNote.hidden = false;

document.getElementById('print').addEventListener('click', () => {
  if (inWeChat) {
    wechatNote.classList.add('flash');
    wechatNote.scrollIntoView({ block: 'center' });
    return;
  }
  window.print();
});
window.addEventListener('resize', fit);
fit();
