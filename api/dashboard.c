/* dashboard: GET /, one static page (HTML + JS, no dependencies) that lists the jobs
 * with their progress and draws the per-iteration loss and ACC of the one selected,
 * polling the JSON API every two seconds. */
#include <string.h>

#include "handlers.h"

static const char page[] =
    "<!doctype html><html><head><meta charset=utf-8><title>deepclust</title>\n"
    "<style>body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse}td,th{padding:3px 9px;border-bottom:1px solid #ddd;text-align:left}"
    "tr.sel{background:#eef}tr:hover{cursor:pointer;background:#f6f6ff}"
    ".bar{width:120px;height:10px;background:#eee;display:inline-block}"
    ".bar i{display:block;height:10px;background:#46c}canvas{border:1px solid #ccc;margin-top:1em}"
    "</style></head><body><h2>deepclust jobs</h2>\n"
    "<table id=t><thead><tr><th>id<th>method<th>k<th>status<th>phase<th>progress<th>ETA<th>ACC"
    "</thead><tbody></tbody></table>\n"
    "<div id=cap></div><canvas id=c width=720 height=260></canvas>\n"
    "<script>\n"
    "let sel=null;const $=s=>document.querySelector(s);\n"
    "const f=(v,d)=>v==null?'':(+v).toFixed(d);\n"
    "async function j(u){const r=await fetch(u);if(!r.ok)throw new Error(u+': '+r.status);return r.json()}\n"
    "async function jobs(){const d=await j('/v1/jobs?limit=50');const tb=$('#t tbody');tb.innerHTML='';\n"
    " for(const x of d.items){const tr=document.createElement('tr');if(x.id==sel)tr.className='sel';\n"
    "  const m=x.metrics||{};tr.innerHTML=`<td>${x.id}<td>${x.method}<td>${x.n_clusters}<td>${x.status}`+\n"
    "   `<td>${x.phase||''}<td><span class=bar><i style='width:${x.progress}%'></i></span> ${f(x.progress,0)}%`+\n"
    "   `<td>${x.eta_s!=null&&x.status=='running'?f(x.eta_s,0)+'s':''}<td>${f(m.acc,3)}`;\n"
    "  tr.onclick=()=>{sel=x.id;tick()};tb.appendChild(tr)}\n"
    " if(!sel&&d.items.length)sel=d.items[0].id}\n"
    "function plot(rows){const c=$('#c'),g=c.getContext('2d');g.clearRect(0,0,c.width,c.height);\n"
    " const ser=[['loss','#c33'],['acc','#36c']];let i=0;\n"
    " for(const[k,col]of ser){const p=rows.filter(r=>r[k]!=null);if(!p.length)continue;\n"
    "  const ys=p.map(r=>r[k]),lo=Math.min(...ys),hi=Math.max(...ys)||1;g.strokeStyle=col;g.beginPath();\n"
    "  p.forEach((r,n)=>{const x=10+700*n/Math.max(1,p.length-1),y=250-230*(hi>lo?(r[k]-lo)/(hi-lo):.5);\n"
    "   n?g.lineTo(x,y):g.moveTo(x,y)});g.stroke();g.fillStyle=col;\n"
    "  g.fillText(k+' '+f(lo,4)+'..'+f(hi,4),14,14+14*i++)}}\n"
    "async function tick(){try{await jobs();if(sel){const d=await j('/v1/jobs/'+sel+'/iterations?limit=1000');\n"
    " $('#cap').textContent=sel+': '+d.items.length+' iterations';plot(d.items)}}catch(e){$('#cap').textContent=e}}\n"
    "tick();setInterval(tick,2000);\n"
    "</script></body></html>\n";

int api_h_dashboard(api_req *r)
{
    return api_reply_static(r, 200, "text/html; charset=utf-8", page, sizeof page - 1);
}
