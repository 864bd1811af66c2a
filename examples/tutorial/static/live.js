// Sends new items over the WebSocket, and shows the items that anyone adds.
const scheme = location.protocol === "https:" ? "wss" : "ws";
const socket = new WebSocket(`${scheme}://${location.host}/live`);
const list = document.getElementById("items");
const form = document.getElementById("add");

socket.onmessage = (event) => {
  const item = JSON.parse(event.data);
  const li = document.createElement("li");
  const author = document.createElement("small");
  author.textContent = `(${item.author})`;
  li.append(`${item.text} `, author);  // text, never HTML: nothing a user types runs
  list.append(li);
};

form.onsubmit = (event) => {
  if (socket.readyState !== WebSocket.OPEN) return;  // let the form post instead
  event.preventDefault();
  socket.send(JSON.stringify({text: form.elements.text.value}));
  form.reset();
};

socket.onclose = () => setTimeout(() => location.reload(), 2000);  // catch up
