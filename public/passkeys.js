// Passkey ceremonies (SPEC §11) with @simplewebauthn/browser (public/simplewebauthn-browser.umd.min.js,
// the package's own browser build). Every element marked data-passkey runs one ceremony:
//   register       a form with a name field: options → browser → POST /account/passkeys
//   second-factor  a button at /login/mfa: options → browser → POST /login/mfa/passkey
//   sign-in        a button at /login: options → browser → POST /login/passkey
//   reauth         a button inside a form: options → browser → the assertion into the form's
//                  hidden field passkey_assertion, then the form is submitted as usual
// Without JavaScript these stay hidden and the page says the authenticator code works instead.
;(function () {
  'use strict'
  // a page embedding several passkey sections loads this file more than once: bind once
  if (window.gatehousePasskeysBound) return
  window.gatehousePasskeysBound = true
  var lib = window.SimpleWebAuthnBrowser
  var supported = !!(lib && lib.browserSupportsWebAuthn())

  var notes = document.querySelectorAll('[data-passkey-needs-js]')
  for (var i = 0; i < notes.length; i++) {
    if (supported) notes[i].hidden = true
    else notes[i].textContent = 'This browser does not support passkeys. Use your authenticator code instead.'
  }
  if (!supported) return
  var buttons = document.querySelectorAll('[data-passkey-button]')
  for (var j = 0; j < buttons.length; j++) buttons[j].hidden = false

  function statusOf(el) {
    var id = el.getAttribute('data-status')
    return id ? document.getElementById(id) : null
  }

  function say(el, text) {
    var status = statusOf(el)
    if (status) status.textContent = text
  }

  function postJson(url, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body || {}),
    }).then(function (res) {
      return res
        .json()
        .catch(function () {
          return { error: 'The server answered unexpectedly (' + res.status + '). Reload the page and try again.' }
        })
        .then(function (data) {
          if (!res.ok) throw new Error(data.error || 'Something went wrong (' + res.status + ').')
          return data
        })
    })
  }

  function browserError(error) {
    if (error && error.name === 'NotAllowedError') return 'The passkey request was cancelled or timed out.'
    if (error && error.name === 'InvalidStateError') return 'This passkey is already registered.'
    return (error && error.message) || 'The passkey could not be used.'
  }

  // /account#passkeys from /account changes only the fragment, which would not load the page
  // again: then the address is replaced and the page reloaded (showing the new list and the flash).
  function go(href) {
    var target = new URL(href, window.location.href)
    var here = window.location
    if (target.origin === here.origin && target.pathname === here.pathname && target.search === here.search) {
      window.history.replaceState(null, '', target.href)
      window.location.reload()
    } else {
      window.location.assign(target.href)
    }
  }

  function run(el, steps) {
    if (el.getAttribute('aria-busy') === 'true') return
    el.setAttribute('aria-busy', 'true')
    say(el, 'Waiting for your passkey…')
    steps()
      .then(function (done) {
        if (done && done.redirect) go(done.redirect)
      })
      .catch(function (error) {
        say(el, browserError(error))
      })
      .then(function () {
        el.removeAttribute('aria-busy')
      })
  }

  function assertion(optionsUrl) {
    return postJson(optionsUrl).then(function (options) {
      return lib.startAuthentication({ optionsJSON: options })
    })
  }

  var ceremonies = {
    register: function (form) {
      form.addEventListener('submit', function (event) {
        event.preventDefault()
        var name = form.querySelector('[name="name"]').value.trim()
        if (name === '') return say(form, 'Give the passkey a name first.')
        run(form, function () {
          return postJson('/account/passkeys/options')
            .then(function (options) {
              return lib.startRegistration({ optionsJSON: options })
            })
            .then(function (response) {
              return postJson('/account/passkeys', { name: name, response: response })
            })
        })
      })
    },
    'second-factor': function (button) {
      button.addEventListener('click', function () {
        run(button, function () {
          return assertion('/login/mfa/passkey/options').then(function (response) {
            return postJson('/login/mfa/passkey', { response: response })
          })
        })
      })
    },
    'sign-in': function (button) {
      button.addEventListener('click', function () {
        run(button, function () {
          return assertion('/login/passkey/options').then(function (response) {
            return postJson('/login/passkey', { response: response })
          })
        })
      })
    },
    reauth: function (button) {
      button.addEventListener('click', function () {
        var form = button.form
        run(button, function () {
          return assertion('/account/passkeys/assertion-options').then(function (response) {
            form.querySelector('[name="passkey_assertion"]').value = JSON.stringify(response)
            form.submit()
          })
        })
      })
    },
  }

  var elements = document.querySelectorAll('[data-passkey]')
  for (var k = 0; k < elements.length; k++) {
    var kind = elements[k].getAttribute('data-passkey')
    if (ceremonies[kind]) ceremonies[kind](elements[k])
  }
})()
