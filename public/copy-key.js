// Copy-to-clipboard for a one-time secret shown on the page (the site API key). Without
// JavaScript the button stays hidden and the key remains selectable text.
;(function () {
  'use strict'
  function announce(button, message) {
    var status = button.parentElement && button.parentElement.querySelector('.copy-status')
    if (status) status.textContent = message
  }
  function selectText(element) {
    var range = document.createRange()
    range.selectNodeContents(element)
    var selection = window.getSelection()
    if (selection) {
      selection.removeAllRanges()
      selection.addRange(range)
    }
  }
  function setUp(button) {
    var target = document.getElementById(button.getAttribute('data-copy-target') || '')
    if (!target || !navigator.clipboard || !window.isSecureContext) return
    button.hidden = false
    button.addEventListener('click', function () {
      announce(button, '')
      navigator.clipboard.writeText(target.textContent || '').then(
        function () {
          announce(button, 'Copied')
        },
        function () {
          selectText(target)
          announce(button, 'Could not copy: the key is selected, press Ctrl+C (or ⌘C) to copy it.')
        },
      )
    })
  }
  function start() {
    var buttons = document.querySelectorAll('button[data-copy-target]')
    for (var i = 0; i < buttons.length; i++) setUp(buttons[i])
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start)
  else start()
})()
