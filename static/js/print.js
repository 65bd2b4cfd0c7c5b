// 打印证书: the toolbar's button opens the browser's print dialog (a file, not an inline
// onclick: the pages' CSP allows no inline script).
document.getElementById('print').addEventListener('click', () => window.print());
