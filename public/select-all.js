// "Select every row on this page" on the users list. Without JavaScript the box is sent with the
// form and the server selects the page's rows; with it, the box checks the row boxes instead and
// is no longer sent, so unticking one row afterwards leaves that row out.
;(function () {
  'use strict'
  function rowBoxes(form) {
    return form.querySelectorAll('input[type="checkbox"][name="user_ids"], input[type="checkbox"][name="invitation_ids"]')
  }
  function prepare(box) {
    if (box.hasAttribute('data-ready')) return
    box.setAttribute('data-ready', '')
    box.removeAttribute('name')
  }
  function prepareAll() {
    document.querySelectorAll('input[data-select-all]').forEach(prepare)
  }
  document.addEventListener('change', function (event) {
    var target = event.target
    if (!(target instanceof HTMLInputElement) || !target.form) return
    var all = target.form.querySelector('input[data-select-all]')
    if (!all) return
    prepare(all)
    var boxes = rowBoxes(target.form)
    if (target === all) {
      boxes.forEach(function (b) { b.checked = all.checked })
    } else if (target.name === 'user_ids' || target.name === 'invitation_ids') {
      all.checked = Array.prototype.every.call(boxes, function (b) { return b.checked })
    }
  })
  document.addEventListener('DOMContentLoaded', prepareAll)
  document.addEventListener('htmx:after:swap', prepareAll)
  prepareAll()
})()
