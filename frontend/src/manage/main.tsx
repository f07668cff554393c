import { render } from "preact";
import { ManageApp } from "./app";
import "./manage.css";

render(<ManageApp />, document.getElementById("manage-app")!);
