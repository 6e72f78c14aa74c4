// The organization page's live branding preview: each branding input updates the preview as
// it is typed. Without this script the preview shows the saved branding.
(function () {
  var preview = document.getElementById('branding-preview');
  if (!preview) return;
  var targets = {
    layout_color: [preview, 'background'],
    label_color: [preview, 'color'],
    font_family: [preview, 'fontFamily'],
    primary_button_color: ['preview-primary', 'background'],
    primary_button_label_color: ['preview-primary', 'color'],
    primary_button_border_color: ['preview-primary', 'borderColor'],
    secondary_button_color: ['preview-secondary', 'background'],
    secondary_button_label_color: ['preview-secondary', 'color'],
    secondary_button_border_color: ['preview-secondary', 'borderColor'],
    critical_indicator_color: ['preview-critical', 'color'],
  };
  document.querySelectorAll('[data-preview]').forEach(function (input) {
    var target = targets[input.getAttribute('data-preview')];
    if (!target) return;
    var element = typeof target[0] === 'string' ? document.getElementById(target[0]) : target[0];
    var initial = element.style[target[1]];
    input.addEventListener('input', function () {
      element.style[target[1]] = input.value.trim() || initial;
    });
  });
})();
