import Foundation

/// `/docs`: one self-contained HTML page (no CDN, no network) that renders the contract: operations grouped by tag
/// with their roles, parameters, bodies, responses and examples, then the schemas.
enum DocsPage {
    static func html(specJSON: String) -> String {
        let embedded = specJSON.replacingOccurrences(of: "</", with: "<\\/")
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>DQT API</title>
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <style>
            body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#0b0c0c;background:#fff}
            header{background:#0b0c0c;color:#fff;padding:16px 32px}header h1{margin:0;font-size:24px}
            main{display:flex}nav{width:280px;padding:16px;border-right:1px solid #ddd;height:calc(100vh - 64px);overflow:auto;position:sticky;top:0;font-size:14px}
            nav a{display:block;color:#1d70b8;text-decoration:none;padding:2px 0}section{flex:1;padding:16px 32px;max-width:1100px}
            .op{border:1px solid #ddd;border-radius:4px;margin:12px 0;padding:12px}.m{font-weight:bold;padding:2px 8px;border-radius:3px;color:#fff;margin-right:8px;font-family:monospace}
            .GET{background:#1d70b8}.PUT{background:#f47738}.POST{background:#00703c}.PATCH{background:#912b88}.DELETE{background:#d4351c}
            code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}pre{background:#f3f2f1;padding:8px;overflow:auto}
            table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;font-size:13px;vertical-align:top}
            .desc{white-space:pre-wrap}h2{border-bottom:2px solid #0b0c0c}details summary{cursor:pointer}
            </style></head><body>
            <header><h1 id="title">DQT API</h1><div id="summary"></div></header>
            <main><nav id="nav"></nav><section id="content"></section></main>
            <script id="spec" type="application/json">\(embedded)</script>
            <script>
            (function(){
              const spec = JSON.parse(document.getElementById('spec').textContent);
              const esc = s => String(s ?? '').replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
              const ref = r => r && r.$ref ? r.$ref.split('/').pop() : null;
              const resolve = (o) => { let n = ref(o); if (!n) return o; const parts = o.$ref.split('/').slice(1); let v = spec; for (const p of parts) v = v[p]; return v; };
              const typeOf = s => { if (!s) return 'any'; const n = ref(s); if (n) return '<a href="#schema-'+n+'">'+n+'</a>';
                if (s.allOf) return s.allOf.map(typeOf).join(' & '); if (s.oneOf) return s.oneOf.map(typeOf).join(' | ');
                let t = Array.isArray(s.type) ? s.type.join(' | ') : (s.type || 'any');
                if (t.startsWith('array')) t = 'array of ' + typeOf(s.items); if (s.enum) t += ' (' + s.enum.join(', ') + ')';
                if (s.format) t += ' <i>' + s.format + '</i>'; return t; };
              document.getElementById('title').textContent = spec.info.title + ' ' + spec.info.version;
              document.getElementById('summary').textContent = spec.info.summary || '';
              const nav = document.getElementById('nav'), content = document.getElementById('content');
              let html = '<h2 id="about">About</h2><div class="desc">' + esc(spec.info.description) + '</div>';
              let navHtml = '<a href="#about">About</a>';
              const byTag = {};
              for (const [path, item] of Object.entries(spec.paths)) for (const [method, op] of Object.entries(item)) {
                if (typeof op !== 'object' || !op.operationId) continue; const tag = (op.tags || ['Other'])[0];
                (byTag[tag] = byTag[tag] || []).push({path, method: method.toUpperCase(), op}); }
              for (const [tag, ops] of Object.entries(byTag)) {
                html += '<h2 id="tag-'+tag+'">'+esc(tag)+'</h2>'; navHtml += '<b>'+esc(tag)+'</b>';
                for (const {path, method, op} of ops) {
                  navHtml += '<a href="#op-'+op.operationId+'">'+method+' '+esc(path)+'</a>';
                  html += '<div class="op" id="op-'+op.operationId+'"><span class="m '+method+'">'+method+'</span><code>'+esc(path)+'</code>';
                  html += '<p><b>'+esc(op.summary)+'</b></p>'; if (op.description) html += '<div class="desc">'+esc(op.description)+'</div>';
                  const params = (op.parameters || []).map(resolve);
                  if (params.length) { html += '<table><tr><th>parameter</th><th>in</th><th>type</th><th>required</th><th>description</th></tr>';
                    for (const p of params) html += '<tr><td><code>'+esc(p.name)+'</code></td><td>'+p.in+'</td><td>'+typeOf(p.schema)+'</td><td>'+(p.required?'yes':'')+'</td><td>'+esc(p.description)+'</td></tr>';
                    html += '</table>'; }
                  if (op.requestBody) { const c = op.requestBody.content['application/json'];
                    html += '<p>Body: '+typeOf(c.schema)+'</p>'; if (c.example) html += '<details><summary>example</summary><pre>'+esc(JSON.stringify(c.example, null, 2))+'</pre></details>'; }
                  html += '<table><tr><th>status</th><th>meaning</th><th>body</th></tr>';
                  for (const [code, r0] of Object.entries(op.responses)) { const r = resolve(r0); const c = r.content ? Object.values(r.content)[0] : null;
                    html += '<tr><td>'+code+'</td><td>'+esc(r.description)+'</td><td>'+(c ? typeOf(c.schema) : '')+(c && c.example ? '<pre>'+esc(JSON.stringify(c.example, null, 2))+'</pre>' : '')+'</td></tr>'; }
                  html += '</table></div>'; } }
              html += '<h2 id="schemas">Schemas</h2>'; navHtml += '<b><a href="#schemas">Schemas</a></b>';
              for (const [name, s] of Object.entries(spec.components.schemas)) {
                html += '<div class="op" id="schema-'+name+'"><b>'+name+'</b> '+(s.properties ? '' : typeOf(s));
                if (s.description) html += '<div class="desc">'+esc(s.description)+'</div>';
                const props = s.properties || (s.allOf ? Object.assign({}, ...s.allOf.map(x => resolve(x).properties || {})) : null);
                if (props) { const req = new Set(s.required || []); html += '<table><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr>';
                  for (const [p, ps] of Object.entries(props)) html += '<tr><td><code>'+esc(p)+'</code></td><td>'+typeOf(ps)+'</td><td>'+(req.has(p)?'yes':'')+'</td><td>'+esc(ps.description)+'</td></tr>';
                  html += '</table>'; }
                html += '</div>'; }
              content.innerHTML = html; nav.innerHTML = navHtml;
            })();
            </script></body></html>
            """
    }
}
