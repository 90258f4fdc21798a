// The page of `tagger serve`: POST the text to /tag and draw what comes back. Plain JS, no build step,
// nothing from the network. Text is always inserted with textContent, never as HTML.
"use strict";

(function () {
  // displaCy's colours for the CoNLL types, so the page looks like what spaCy users know.
  const KNOWN = { PER: "#aa9cfc", PERSON: "#aa9cfc", ORG: "#7aecec", LOC: "#ff9561", GPE: "#feca74", MISC: "#e4e7d2" };
  const PALETTE = ["#bfe1d9", "#c887fb", "#9cc9cc", "#ffeb80", "#ff8197", "#f0d0ff", "#bfeeb7", "#e6c3a5", "#a8d8ff", "#ffd3b6"];
  const PREFIX = /^[BIESLU]-/;

  const state = { info: null, colours: {} };
  const $ = (id) => document.getElementById(id);

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // The entity types (or POS tags) of the model's labels, in their order: B-PER, I-PER -> PER.
  function typesOf(labels, scheme) {
    const types = [];
    for (const label of labels) {
      if (label === "O") continue;
      const type = scheme === "plain" ? label : label.replace(PREFIX, "");
      if (!types.includes(type)) types.push(type);
    }
    return types;
  }

  function colourOf(type) {
    if (!(type in state.colours)) {
      const used = Object.keys(state.colours).length;
      state.colours[type] = KNOWN[type] || PALETTE[used % PALETTE.length];
    }
    return state.colours[type];
  }

  function showLegend(types) {
    const legend = $("legend");
    legend.replaceChildren();
    for (const type of types) {
      const item = element("span", "legend-item", type);
      item.dataset.label = type;
      item.style.background = colourOf(type);
      legend.appendChild(item);
    }
  }

  function showModel(info) {
    const scheme = info.scheme;
    $("model-summary").textContent =
      `${scheme === "plain" ? "tags" : "entities"} (${scheme}), ${info.labels.length} labels, engine ${info.engine}`;
    const labels = $("labels");
    labels.replaceChildren();
    for (const label of info.labels) labels.appendChild(element("span", "", label));
    showScores(info.scores || {});
    showLegend(typesOf(info.labels, scheme));
  }

  // meta.json's scores: per split, overall P/R/F1 (or accuracy) and per type.
  function showScores(scores) {
    const table = $("scores");
    table.replaceChildren();
    const split = scores.validation || scores.dev || Object.values(scores)[0];
    if (!split) return;
    const fmt = (value) => (typeof value === "number" ? (100 * value).toFixed(2) : "");
    const head = element("tr");
    for (const name of ["dev", "precision", "recall", "F1", "support"]) head.appendChild(element("th", "", name));
    table.appendChild(head);
    const row = (name, values, support) => {
      const tr = element("tr");
      tr.appendChild(element("td", "", name));
      for (const key of ["precision", "recall", "f1"]) tr.appendChild(element("td", "", fmt(values[key])));
      tr.appendChild(element("td", "", support === undefined ? "" : String(support)));
      table.appendChild(tr);
    };
    row("all", split, split.tokens === undefined ? undefined : `${split.tokens} tokens`);
    for (const [type, values] of Object.entries(split.per_type || {})) row(type, values, values.support);
    if (typeof split.accuracy === "number") {
      const tr = element("tr");
      tr.appendChild(element("td", "", "token accuracy"));
      tr.appendChild(element("td", "", ""));
      tr.appendChild(element("td", "", ""));
      tr.appendChild(element("td", "", fmt(split.accuracy)));
      tr.appendChild(element("td", "", ""));
      table.appendChild(tr);
    }
  }

  // The text as written, each entity a <mark> with its type's colour and its probability on hover.
  function showEntities(text, sentences) {
    const result = $("result");
    result.replaceChildren();
    let position = 0;
    for (const sentence of sentences) {
      for (const span of sentence.spans) {
        result.appendChild(document.createTextNode(text.slice(position, span.start_char)));
        const mark = element("mark", "entity", text.slice(span.start_char, span.end_char));
        mark.dataset.label = span.label;
        mark.style.background = colourOf(span.label);
        const score = typeof span.score === "number" ? ` (p = ${span.score.toFixed(3)})` : "";
        mark.title = `${span.label}${score}`;
        mark.appendChild(element("span", "entity-label", span.label));
        result.appendChild(mark);
        position = span.end_char;
      }
    }
    result.appendChild(document.createTextNode(text.slice(position)));
  }

  // A POS (plain) model: each token with its tag under it.
  function showTags(sentences) {
    const result = $("result");
    result.replaceChildren();
    for (const sentence of sentences) {
      const line = element("div", "sentence");
      sentence.tokens.forEach((token, i) => {
        const cell = element("span", "token");
        cell.appendChild(element("span", "word", token));
        const tag = element("span", "tag", sentence.tags[i]);
        tag.style.background = colourOf(sentence.tags[i]);
        cell.appendChild(tag);
        line.appendChild(cell);
      });
      result.appendChild(line);
    }
  }

  async function errorText(response) {
    try {
      const body = await response.json();
      if (Array.isArray(body.detail)) return body.detail.map((d) => d.msg).join("; ");
      return String(body.detail);
    } catch (_) {
      return `HTTP ${response.status}`;
    }
  }

  async function tagText() {
    const text = $("text").value;
    const button = $("tag");
    button.disabled = true;
    $("status").textContent = "tagging…";
    $("status").classList.remove("error");
    try {
      const response = await fetch("tag", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text }),
      });
      if (!response.ok) throw new Error(await errorText(response));
      const body = await response.json();
      const plain = state.info && state.info.scheme === "plain";
      if (plain) showTags(body.sentences);
      else showEntities(text, body.sentences);
      const found = body.sentences.reduce((n, s) => n + (plain ? s.tokens.length : s.spans.length), 0);
      $("status").textContent = `${body.sentences.length} sentences, ${found} ${plain ? "tokens" : "entities"}`;
    } catch (error) {
      $("status").textContent = error.message;
      $("status").classList.add("error");
    } finally {
      button.disabled = false;
    }
  }

  async function start() {
    $("tag").addEventListener("click", tagText);
    try {
      const response = await fetch("info");
      if (!response.ok) throw new Error(await errorText(response));
      state.info = await response.json();
      showModel(state.info);
    } catch (error) {
      $("model-summary").textContent = `could not read /info: ${error.message}`;
    }
    document.body.dataset.ready = "true"; // the browser test waits for this
  }

  start();
})();
