/* minidl's report charts: draws each <figure class="chart" data-chart="ID"> from the JSON in
   #minidl-data as inline SVG at the width the page gives it (redrawn when that changes), with a
   legend and the values under the pointer. minidl computed every number; this only draws them.
   SVG is built as markup (the HTML parser puts it in the SVG namespace), so the file names no URL.
   Comments here use the block form only: a report must not contain a double slash. */
(function () {
  'use strict';
  var source = document.getElementById('minidl-data');
  if (!source) return;
  var charts = JSON.parse(source.textContent);

  function esc(text) {
    return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  }

  /* Numbers as a person writes them: 4 significant digits, exponents for the very small or large. */
  function fmt(v, digits) {
    if (v === null || !isFinite(v)) return '–';
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) {
      var e = v.toExponential(Math.max(0, (digits || 4) - 1)).split('e');
      return String(+e[0]) + 'e' + (+e[1]);
    }
    return String(+v.toPrecision(digits || 4));
  }

  function xsOf(s) {
    if (s.x) return s.x;
    var out = new Array(s.y.length);
    for (var i = 0; i < s.y.length; i++) out[i] = s.x0 + i * s.dx;
    return out;
  }

  function usable(v, log) { return v !== null && isFinite(v) && (!log || v > 0); }

  /* An axis: the data's range (or the spec's fixed ends) on a linear or log10 scale. */
  function makeScale(spec, values, from, to, pad) {
    var log = !!spec.log, lo = Infinity, hi = -Infinity;
    values.forEach(function (v) {
      if (!usable(v, log)) return;
      var t = log ? Math.log10(v) : v;
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    });
    if (spec.min !== undefined) lo = log ? Math.log10(spec.min) : spec.min;
    if (spec.max !== undefined) hi = log ? Math.log10(spec.max) : spec.max;
    if (!isFinite(lo) || !isFinite(hi)) { lo = 0; hi = 1; }
    if (hi - lo < 1e-12) { var d = log ? 0.5 : (Math.abs(lo) || 1) * 0.05; lo -= d; hi += d; }
    if (pad) {
      var p = (hi - lo) * pad;
      if (spec.min === undefined) lo -= p;
      if (spec.max === undefined) hi += p;
    }
    if (spec.cap !== undefined) {
      var cap = log ? Math.log10(spec.cap) : spec.cap;
      if (hi > cap && lo < cap) hi = cap;
    }
    var f = function (v) { return from + ((log ? Math.log10(v) : v) - lo) / (hi - lo) * (to - from); };
    f.invert = function (px) {
      var t = lo + (px - from) / (to - from) * (hi - lo);
      return log ? Math.pow(10, t) : t;
    };
    f.lo = lo; f.hi = hi; f.log = log;
    return f;
  }

  function niceStep(span, count) {
    var raw = span / Math.max(1, count), mag = Math.pow(10, Math.floor(Math.log10(raw))), r = raw / mag;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
  }

  function ticks(scale, count, integer) {
    var out = [], v;
    if (scale.log) {
      var a = Math.floor(scale.lo), b = Math.ceil(scale.hi), decades = b - a;
      var every = decades > 8 ? 2 : 1;
      var mults = decades <= 1 ? [1, 2, 3, 5] : decades <= 3 ? [1, 2, 5] : [1];
      for (var e = a; e <= b; e += every)
        mults.forEach(function (m) {
          var t = Math.log10(m) + e;
          if (t >= scale.lo - 1e-9 && t <= scale.hi + 1e-9) out.push(m * Math.pow(10, e));
        });
      /* Less than a decade with fewer than 3 of 1, 2, 3, 5: linear steps read better (still on the log scale). */
      if (out.length < 3) return ticks({ lo: Math.pow(10, scale.lo), hi: Math.pow(10, scale.hi), log: false }, count, false);
      return out;
    }
    var step = niceStep(scale.hi - scale.lo, count);
    if (integer) step = Math.max(1, Math.round(step));
    for (v = Math.ceil(scale.lo / step - 1e-9) * step; v <= scale.hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
    return out;
  }

  function pathOf(xs, ys, sx, sy, xlog, ylog) {
    var d = [], pen = 'M';
    for (var i = 0; i < ys.length; i++) {
      if (!usable(ys[i], ylog) || !usable(xs[i], xlog)) { pen = 'M'; continue; }
      d.push(pen + sx(xs[i]).toFixed(1) + ' ' + sy(ys[i]).toFixed(1));
      pen = 'L';
    }
    return d.join('');
  }

  function bandOf(xs, lo, hi, sx, sy, xlog, ylog) {
    var top = [], bottom = [];
    for (var i = 0; i < xs.length; i++) {
      if (!usable(lo[i], ylog) || !usable(hi[i], ylog) || !usable(xs[i], xlog)) continue;
      top.push(sx(xs[i]).toFixed(1) + ' ' + sy(hi[i]).toFixed(1));
      bottom.push(sx(xs[i]).toFixed(1) + ' ' + sy(lo[i]).toFixed(1));
    }
    if (!top.length) return '';
    return 'M' + top.join('L') + 'L' + bottom.reverse().join('L') + 'Z';
  }

  /* The index of the x nearest to `x` in the ascending array xs. */
  function nearest(xs, x) {
    var a = 0, b = xs.length - 1;
    if (b < 0) return -1;
    while (b - a > 1) {
      var m = (a + b) >> 1;
      if (xs[m] < x) a = m; else b = m;
    }
    return Math.abs(xs[a] - x) <= Math.abs(xs[b] - x) ? a : b;
  }

  function draw(fig, spec) {
    var plot = fig.querySelector('.plot');
    var width = Math.max(260, Math.floor(plot.clientWidth || 480));
    if (plot.dataset.width === String(width)) return;
    plot.dataset.width = String(width);
    var narrow = width < 420;
    /* On a phone a chart is taller than wide-screen proportions give, so its y label fits beside it. */
    var height = Math.round(Math.max(narrow ? 260 : 210, Math.min(330, width * 0.58)));
    var logNote = narrow ? ', log' : ' (log scale)';
    var m = { l: 60, r: 12, t: 10, b: 44 };
    var series = spec.series.map(function (s) { return { s: s, xs: xsOf(s) }; });

    var allX = [], allY = [];
    series.forEach(function (e) {
      allX = allX.concat(e.xs);
      allY = allY.concat(e.s.y, e.s.lo || [], e.s.hi || []);
    });
    var sy = makeScale(spec.y, allY, height - m.b, m.t, 0.05);
    var yt = ticks(sy, Math.max(3, Math.floor((height - m.t - m.b) / 42)), spec.y.integer);
    /* The left margin fits the longest y tick label (about 7.2 px a character at 12 px) between the
       rotated axis label (up to x = 20) and the frame, so that the two never overlap. */
    var longest = 0;
    yt.forEach(function (v) { longest = Math.max(longest, fmt(v).length); });
    m.l = Math.max(40, Math.ceil(26 + 7.2 * longest));
    var sx = makeScale(spec.x, allX, m.l, width - m.r, 0);
    var xt = ticks(sx, narrow ? 4 : Math.min(8, Math.floor((width - m.l) / 90)), spec.x.integer);

    var svg = ['<svg viewBox="0 0 ' + width + ' ' + height + '" width="' + width + '" height="' + height +
               '" role="img" aria-label="' + esc(spec.title) + '"><g class="grid">'];
    xt.forEach(function (v) {
      var x = sx(v).toFixed(1);
      svg.push('<line x1="' + x + '" x2="' + x + '" y1="' + m.t + '" y2="' + (height - m.b) + '"></line>');
    });
    yt.forEach(function (v) {
      var y = sy(v).toFixed(1);
      svg.push('<line x1="' + m.l + '" x2="' + (width - m.r) + '" y1="' + y + '" y2="' + y + '"></line>');
    });
    svg.push('</g><rect class="frame" x="' + m.l + '" y="' + m.t + '" width="' + (width - m.l - m.r) + '" height="' +
             (height - m.t - m.b) + '"></rect>');
    xt.forEach(function (v) {
      svg.push('<text x="' + sx(v).toFixed(1) + '" y="' + (height - m.b + 16) + '" text-anchor="middle">' + esc(fmt(v)) + '</text>');
    });
    yt.forEach(function (v) {
      svg.push('<text x="' + (m.l - 6) + '" y="' + (sy(v) + 4).toFixed(1) + '" text-anchor="end">' + esc(fmt(v)) + '</text>');
    });
    svg.push('<text class="axis-label" x="' + ((m.l + width - m.r) / 2).toFixed(1) + '" y="' + (height - 6) +
             '" text-anchor="middle">' + esc(spec.x.label + (spec.x.log ? logNote : '')) + '</text>');
    svg.push('<text class="axis-label" transform="translate(13 ' + ((m.t + height - m.b) / 2).toFixed(1) +
             ') rotate(-90)" text-anchor="middle">' + esc(spec.y.label + (spec.y.log ? logNote : '')) + '</text>');

    var clip = 'clip-' + fig.dataset.chart;
    svg.push('<clipPath id="' + esc(clip) + '"><rect x="' + m.l + '" y="' + m.t + '" width="' + (width - m.l - m.r) +
             '" height="' + (height - m.t - m.b) + '"></rect></clipPath><g clip-path="url(#' + esc(clip) + ')">');
    series.forEach(function (e) {
      if (e.s.lo) svg.push('<path class="band f' + e.s.color + '" d="' + bandOf(e.xs, e.s.lo, e.s.hi, sx, sy, sx.log, sy.log) + '"></path>');
    });
    series.forEach(function (e, k) {
      var cls = 'line s' + e.s.color + (e.s.faint ? ' faint' : '') + (e.s.dashed ? ' dashed' : '');
      svg.push('<path class="' + cls + '" data-series="' + k + '" data-name="' + esc(e.s.name) + '" d="' +
               pathOf(e.xs, e.s.y, sx, sy, sx.log, sy.log) + '"></path>');
    });
    series.forEach(function (e) {
      if (!e.s.markers) return;
      for (var i = 0; i < e.s.y.length; i++)
        if (usable(e.s.y[i], sy.log))
          svg.push('<circle class="marker f' + e.s.color + '" r="3.2" cx="' + sx(e.xs[i]).toFixed(1) + '" cy="' +
                   sy(e.s.y[i]).toFixed(1) + '"></circle>');
    });
    svg.push('</g><g class="hover" style="display:none"><line y1="' + m.t + '" y2="' + (height - m.b) + '"></line>');
    series.forEach(function (e) { svg.push('<circle r="3.5" class="f' + e.s.color + '"></circle>'); });
    svg.push('</g><rect class="hit" x="' + m.l + '" y="' + m.t + '" width="' + (width - m.l - m.r) + '" height="' +
             (height - m.t - m.b) + '"></rect></svg>');
    plot.innerHTML = svg.join('') + '<div class="tooltip"></div>';

    var root = plot.querySelector('svg'), hover = root.querySelector('.hover'), tip = plot.querySelector('.tooltip');
    var rule = hover.querySelector('line'), dots = hover.querySelectorAll('circle');
    function show(event) {
      var box = root.getBoundingClientRect(), scale = width / box.width;
      var px = (event.clientX - box.left) * scale;
      var x = sx.invert(Math.max(m.l, Math.min(width - m.r, px)));
      var anchor = null, rows = [];
      series.forEach(function (e, k) {
        var i = nearest(e.xs, x), dot = dots[k];
        if (i < 0 || !usable(e.s.y[i], sy.log)) { dot.style.display = 'none'; return; }
        if (anchor === null || (!e.s.faint && anchor.faint)) anchor = { x: e.xs[i], faint: e.s.faint };
        dot.style.display = '';
        dot.setAttribute('cx', sx(e.xs[i]).toFixed(1));
        dot.setAttribute('cy', sy(e.s.y[i]).toFixed(1));
        var band = e.s.lo && usable(e.s.lo[i]) ? ' <span class="mono">(' + fmt(e.s.lo[i]) + '–' + fmt(e.s.hi[i]) + ')</span>' : '';
        rows.push('<div><span class="swatch f' + e.s.color + '"' + (e.s.faint ? ' style="opacity:.4"' : '') + '></span>' +
                  esc(e.s.name) + ': <b>' + fmt(e.s.y[i]) + '</b>' + band + '</div>');
      });
      if (anchor === null) { hide(); return; }
      var ax = sx(anchor.x);
      rule.setAttribute('x1', ax.toFixed(1));
      rule.setAttribute('x2', ax.toFixed(1));
      hover.style.display = '';
      tip.innerHTML = '<div><b>' + esc(spec.x.label.replace(/ \(.*\)$/, '')) + ' ' + fmt(anchor.x, 6) + '</b></div>' + rows.join('');
      tip.style.display = 'block';
      var left = ax / scale + 14, top = (event.clientY - box.top) + 10;
      if (left + tip.offsetWidth > box.width) left = Math.max(0, ax / scale - tip.offsetWidth - 14);
      tip.style.left = left + 'px';
      tip.style.top = Math.min(top, box.height - tip.offsetHeight) + 'px';
    }
    function hide() { hover.style.display = 'none'; tip.style.display = 'none'; }
    var hit = root.querySelector('rect.hit');
    hit.addEventListener('pointermove', show);
    hit.addEventListener('pointerdown', show);
    hit.addEventListener('pointerleave', hide);

    var legend = fig.querySelector('ul.legend');
    if (legend && !legend.childElementCount && spec.series.length > 1)
      legend.innerHTML = spec.series.map(function (s) {
        return '<li' + (s.faint ? ' class="faint"' : '') + '><span class="swatch f' + s.color + '"></span>' + esc(s.name) + '</li>';
      }).join('');
  }

  function drawAll() {
    document.querySelectorAll('figure.chart[data-chart]').forEach(function (fig) {
      var spec = charts[fig.dataset.chart];
      if (spec) draw(fig, spec);
    });
  }

  drawAll();
  var pending = false;
  window.addEventListener('resize', function () {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; drawAll(); });
  });
})();
